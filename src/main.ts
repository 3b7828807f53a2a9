#!/usr/bin/env node
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, BUILT_IN_PROVIDER_MODULES } from './app.module';
import { ApiKeyStore } from './auth/auth.module';
import { AppLogger } from './common/logger';
import { errorMessage } from './common/domain-error';
import { AppConfig, ConfigValidationError } from './config/config.module';
import { runComputerServer, UsageError } from './computer-server/main';
import { serveStdio } from './mcp/mcp.module';

const SIGNALS = ['SIGTERM', 'SIGINT'];

async function main() {
  const stdio = process.argv.includes('--stdio');
  let config: AppConfig;
  try {
    config = AppConfig.fromEnv(process.env);
  } catch (e) {
    if (e instanceof ConfigValidationError) {
      process.stderr.write(`${e.message}\nFix these settings (see the README's settings table) and start again.\n`);
      process.exit(1);
    }
    throw e;
  }
  const logger = new AppLogger(config.log.level, stdio, config.log.format);
  if (process.argv[2] === 'computer-server') {
    // One desktop served over the cua computer-server protocol (what a desktop pod runs).
    try {
      await runComputerServer(process.argv.slice(3), config, logger, BUILT_IN_PROVIDER_MODULES);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    return;
  }
  const module = AppModule.forRoot({ config });

  if (stdio) {
    const app = await NestFactory.createApplicationContext(module, { logger, abortOnError: false });
    app.enableShutdownHooks(SIGNALS, { useProcessExit: true });
    logger.log('Serving MCP on stdio', 'Main');
    await serveStdio(app);
    await app.close();
    process.exit(0);
  }

  const app = await NestFactory.create<NestExpressApplication>(module, { logger, bodyParser: false, abortOnError: false });
  app.enableShutdownHooks(SIGNALS, { useProcessExit: true });
  await app.listen(config.http.port, config.http.host);
  if (!app.get(ApiKeyStore).enabled) {
    logger.warn(
      `NO API KEYS CONFIGURED: /mcp is open to anyone who can reach ${config.http.host}:${config.http.port}, all as principal "anonymous". ` +
        'Set API_KEYS or API_KEYS_FILE before exposing this server beyond this machine.',
      'Auth',
    );
  }
  const url = await app.getUrl();
  logger.log(`MCP endpoint: ${url.replace('[::1]', 'localhost')}/mcp  (computers: ${config.computer.provider}, model: ${config.agent.modelName})`, 'Main');
}

main().catch((e: unknown) => {
  new Logger('Main').fatal(`Could not start: ${errorMessage(e)}`);
  process.exit(1);
});
