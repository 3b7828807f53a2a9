import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { sleep } from '../../common/async';
import { AppConfig } from '../../config/config.module';
import { ComputerProvider, CreateComputerOptions } from '../computer.port';
import { RegisterComputerProvider } from '../computer-provider.registry';
import { FakeComputer } from './fake-computer';

/** COMPUTER_PROVIDER=fake: in-process synthetic desktops (see FakeComputer). */
@Injectable()
@RegisterComputerProvider()
export class FakeComputerProvider extends ComputerProvider {
  readonly name = 'fake';
  /** Every computer this provider made, for tests and leak checks. */
  readonly created: FakeComputer[] = [];

  constructor(private readonly config: AppConfig) {
    super();
  }

  async create(options: CreateComputerOptions): Promise<FakeComputer> {
    if (this.config.computer.fakeCreateDelayMs > 0) await sleep(this.config.computer.fakeCreateDelayMs, options.signal);
    const computer = new FakeComputer(`fake-${randomUUID().slice(0, 8)}`, {
      width: this.config.computer.screenWidth,
      height: this.config.computer.screenHeight,
    });
    this.created.push(computer);
    return computer;
  }

  /** Computers made and not yet closed. */
  open(): FakeComputer[] {
    return this.created.filter((c) => !c.isClosed);
  }
}
