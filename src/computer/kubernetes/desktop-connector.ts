import { Injectable } from '@nestjs/common';
import { Computer } from '../computer.port';
import { CuaComputer, type CuaConnectOptions, type CuaEndpoint } from '../cua/cua-computer.module';

/** Opens a Computer on a desktop that speaks the cua computer-server protocol (a seam for tests). */
export abstract class DesktopConnector {
  abstract connect(endpoint: CuaEndpoint, options: CuaConnectOptions): Promise<Computer>;
}

/** The cua protocol client of this project (src/computer/cua). */
@Injectable()
export class CuaDesktopConnector extends DesktopConnector {
  connect(endpoint: CuaEndpoint, options: CuaConnectOptions): Promise<Computer> {
    return CuaComputer.connect(endpoint, options);
  }
}
