import { DynamicModule, INestApplication, LoggerService, Module, ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ComputerModule } from '../computer/computer.module';
import { AppConfig, ConfigModule } from '../config/config.module';
import { CuaAuthenticator } from './cua-auth';
import { CuaCommandService } from './cua-commands.service';
import { CuaDispatcher } from './cua-dispatcher.service';
import { CuaHttpController } from './cua-http.controller';
import { CuaOriginGuard } from './cua-origin.guard';
import { COMPUTER_SERVER_HOST } from './computer-server.tokens';
import { CuaWebSocketGateway } from './cua-ws.gateway';
import { DesktopService } from './desktop.service';
import { FileCommands } from './file-commands';

export interface ComputerServerModuleOptions {
  config: AppConfig;
  /** Modules that register computer providers (the built-ins, and any of your own); COMPUTER_PROVIDER picks one. */
  providerModules: NonNullable<ModuleMetadata['imports']>;
  /** The address it listens on (loopback: Host headers must be loopback names); default 127.0.0.1. */
  host?: string;
}

/**
 * computer-server mode: serves ONE desktop (made by the selected computer provider, normally
 * xvfb) over the cua computer-server protocol: GET /status, GET /commands, WS /ws, POST /cmd.
 */
@Module({})
export class ComputerServerModule {
  static forRoot(options: ComputerServerModuleOptions): DynamicModule {
    return {
      module: ComputerServerModule,
      imports: [ConfigModule.forRoot(options.config), ComputerModule, ...options.providerModules],
      controllers: [CuaHttpController],
      providers: [
        DesktopService,
        FileCommands,
        CuaCommandService,
        CuaDispatcher,
        CuaAuthenticator,
        CuaOriginGuard,
        CuaWebSocketGateway,
        { provide: COMPUTER_SERVER_HOST, useValue: options.host ?? '127.0.0.1' },
      ],
      exports: [DesktopService],
    };
  }
}

export interface ComputerServerListen {
  port: number;
  host: string;
}

/**
 * Where computer-server mode listens: --port, else COMPUTER_SERVER_PORT; --host, else HOST when
 * it was set, else 0.0.0.0 with an API key (a desktop pod) and 127.0.0.1 without one.
 */
export function computerServerAddress(config: AppConfig, flags: { port?: number; host?: string }): ComputerServerListen {
  const host = flags.host ?? (config.computerServer.hostGiven ? config.http.host : config.computerServer.apiKey ? '0.0.0.0' : '127.0.0.1');
  return { port: flags.port ?? config.computerServer.port, host };
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
  const tls = options.config.computerServer.tls;
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

export { computerServerUrl } from './computer-server.url';
export { parseComputerServerFlags, runComputerServer, UsageError } from './computer-server.cli';
