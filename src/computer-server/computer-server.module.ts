import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { ComputerModule } from '../computer/computer.module';
import { ConfigModule, Settings } from '../config/config.module';
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
  /** The settings, validated (Settings.load). */
  settings: Settings;
  /** Modules that register computer providers (the built-ins, and any of your own); COMPUTER_PROVIDER picks one. */
  providerModules: NonNullable<ModuleMetadata['imports']>;
  /** The address it listens on (loopback: Host headers must be loopback names); default 127.0.0.1. */
  host?: string;
}

/**
 * computer-server mode: serves ONE desktop (made by the selected computer provider, normally
 * xvfb) over the cua computer-server protocol: GET /status, GET /commands, WS /ws, POST /cmd.
 * It only declares; ./main.ts boots it.
 */
@Module({})
export class ComputerServerModule {
  static forRoot(options: ComputerServerModuleOptions): DynamicModule {
    return {
      module: ComputerServerModule,
      imports: [ConfigModule.forRoot(options.settings), ComputerModule, ...options.providerModules],
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
