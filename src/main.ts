#!/usr/bin/env node
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, BUILT_IN_PROVIDER_MODULES } from './app.module';
import { Authenticator } from './auth/auth.module';
import { AppLogger } from './common/logger';
import { errorMessage } from './common/domain-error';
import { ConfigValidationError, Settings } from './config/config.module';
import { LOG_SETTINGS } from './common/log.settings';
import { HTTP_SETTINGS } from './http/http.settings';
import { COMPUTER_SETTINGS } from './computer/computer.settings';
import { AGENT_SETTINGS } from './agent/agent.settings';
import { parseFlags, UsageError } from './common/cli';
import { parseComputerServerFlags, runComputerServer } from './computer-server/main';
import { serveStdio } from './mcp/mcp.module';

const SIGNALS = ['SIGTERM', 'SIGINT'];
const USAGE = 'Usage: node dist/main.js [--stdio]  (MCP over HTTP, or over stdin/stdout)\n       node dist/main.js computer-server [--port 8000] [--host 127.0.0.1]';

/** Which server this process is: MCP over HTTP or stdio, or computer-server mode with its own flags. */
function mode(argv: readonly string[]): { kind: 'mcp'; stdio: boolean } | { kind: 'computer-server'; flags: ReturnType<typeof parseComputerServerFlags> } {
  if (argv[0] === 'computer-server') return { kind: 'computer-server', flags: parseComputerServerFlags(argv.slice(1)) };
  return { kind: 'mcp', stdio: parseFlags(argv, { stdio: { type: 'boolean' } }, USAGE).stdio === true };
}

/** A bad command line: the message (with the usage) on stderr, exit code 2. */
function usageExit(e: unknown): never {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}

async function main() {
  let run: ReturnType<typeof mode>;
  try {
    run = mode(process.argv.slice(2));
  } catch (e) {
    usageExit(e);
  }
  const stdio = run.kind === 'mcp' && run.stdio;
  let settings: Settings;
  try {
    settings = Settings.load(process.env);
  } catch (e) {
    if (e instanceof ConfigValidationError) {
      process.stderr.write(`${e.message}\nFix these settings (all of them are described in docs/settings.md) and start again.\n`);
      process.exit(1);
    }
    throw e;
  }
  const log = settings.get(LOG_SETTINGS);
  const http = settings.get(HTTP_SETTINGS);
  const logger = new AppLogger(log.level, stdio, log.format);
  if (run.kind === 'computer-server') {
    // One desktop served over the cua computer-server protocol (what a desktop pod runs).
    await runComputerServer(run.flags, settings, logger, BUILT_IN_PROVIDER_MODULES);
    return;
  }
  const module = AppModule.forRoot({ settings, stdio });

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
  await app.listen(http.port, http.host);
  if (app.get(Authenticator).open) {
    logger.warn(
      `NO API KEYS OR OAUTH CONFIGURED: /mcp is open to anyone who can reach ${http.host}:${http.port}, all as principal "anonymous". ` +
        'Set API_KEYS, API_KEYS_FILE or OAUTH_ISSUER before exposing this server beyond this machine.',
      'Auth',
    );
  }
  const url = await app.getUrl();
  logger.log(`MCP endpoint: ${url.replace('[::1]', 'localhost')}/mcp  (computers: ${settings.get(COMPUTER_SETTINGS).provider}, model: ${settings.get(AGENT_SETTINGS).modelName})`, 'Main');
}

main().catch((e: unknown) => {
  new Logger('Main').fatal(`Could not start: ${errorMessage(e)}`);
  process.exit(1);
});
