import { INestApplication, Logger, LoggerService, ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { readFileSync } from 'node:fs';
import { parseFlags, UsageError } from '../common/cli';
import { Settings } from '../config/config.module';
import { HTTP_SETTINGS } from '../http/http.settings';
import { COMPUTER_SETTINGS } from '../computer/computer.settings';
import { COMPUTER_SERVER_SETTINGS } from './computer-server.settings';
import { ComputerServerModule, ComputerServerModuleOptions } from './computer-server.module';
import { computerServerUrl } from './computer-server.url';

/** The entry of computer-server mode: `node dist/main.js computer-server [--port N] [--host H]`. */

const USAGE = 'Usage: node dist/main.js computer-server [--port 8000] [--host 127.0.0.1]';

/** `--port N` and `--host H` (or `--port=N`, `--host=H`); anything else is a UsageError. */
export function parseComputerServerFlags(args: readonly string[]): { port?: number; host?: string } {
  const { port, host } = parseFlags(args, { port: { type: 'string' }, host: { type: 'string' } }, USAGE);
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) > 65535)) throw new UsageError(`--port must be a port number 0-65535, not "${port}". ${USAGE}`);
  if (host === '') throw new UsageError(`--host needs a value. ${USAGE}`);
  return { port: port === undefined ? undefined : Number(port), host };
}

export interface ComputerServerListen {
  port: number;
  host: string;
}

/**
 * Where computer-server mode listens: --port, else COMPUTER_SERVER_PORT; --host, else HOST when
 * it was set, else 0.0.0.0 with an API key (a desktop pod) and 127.0.0.1 without one.
 */
export function computerServerAddress(settings: Settings, flags: { port?: number; host?: string }): ComputerServerListen {
  const own = settings.get(COMPUTER_SERVER_SETTINGS);
  const host = flags.host ?? (own.hostGiven ? settings.get(HTTP_SETTINGS).host : own.apiKey ? '0.0.0.0' : '127.0.0.1');
  return { port: flags.port ?? own.port, host };
}

function readPem(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`${setting}: cannot read ${file} (${e instanceof Error ? e.message : String(e)}).`);
  }
}

/** Boots computer-server mode (its desktop starts during init) and listens. */
export async function startComputerServer(
  options: ComputerServerModuleOptions & { logger: LoggerService; listen: ComputerServerListen },
): Promise<INestApplication> {
  const tls = options.settings.get(COMPUTER_SERVER_SETTINGS).tls;
  const app = await NestFactory.create<NestExpressApplication>(ComputerServerModule.forRoot({ ...options, host: options.listen.host }), {
    httpsOptions: tls ? { cert: readPem('COMPUTER_SERVER_TLS_CERT_FILE', tls.certFile), key: readPem('COMPUTER_SERVER_TLS_KEY_FILE', tls.keyFile) } : undefined,
    logger: options.logger,
    bodyParser: false,
    abortOnError: false,
  });
  app.disable('x-powered-by');
  try {
    await app.listen(options.listen.port, options.listen.host);
  } catch (e) {
    await app.close().catch(() => undefined);
    throw e;
  }
  return app;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** computer-server mode from the command line: boots, warns when open, prints the URL, stops on SIGTERM/SIGINT. */
export async function runComputerServer(
  flags: { port?: number; host?: string },
  settings: Settings,
  logger: LoggerService,
  providerModules: NonNullable<ModuleMetadata['imports']>,
): Promise<void> {
  const listen = computerServerAddress(settings, flags);
  const own = settings.get(COMPUTER_SERVER_SETTINGS);
  const log = new Logger('ComputerServer');
  const app = await startComputerServer({ settings, providerModules, logger, listen });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  if (!own.apiKey) {
    const reach = LOOPBACK.test(listen.host) ? 'any program on this machine' : `ANYONE who can reach ${listen.host}:${listen.port}`;
    log.warn(
      `NO API KEY CONFIGURED: ${reach} can drive this desktop and run commands in it without authentication. ` +
        'Set COMPUTER_SERVER_API_KEY before exposing this server beyond this machine.',
    );
  }
  const url = computerServerUrl(app);
  log.log(`Computer server: ${url}  (ws: ${url.replace('http', 'ws')}/ws, computers: ${settings.get(COMPUTER_SETTINGS).provider}, auth: ${own.apiKey ? 'API key' : 'none'}, tls: ${own.tls ? 'on' : 'off'})`);
}
