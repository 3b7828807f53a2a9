import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { sleep } from '../../common/async';
import { InjectSettings } from '../../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../computer.settings';
import { FAKE_SETTINGS, type FakeSettings } from './fake.settings';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { Computer, ComputerProvider, CreateComputerOptions } from '../computer.port';
import { RegisterComputerProvider } from '../computer-provider.registry';
import { FakeComputer } from './fake-computer';

/** COMPUTER_PROVIDER=fake: in-process synthetic desktops (see FakeComputer). */
@Injectable()
@RegisterComputerProvider()
export class FakeComputerProvider extends ComputerProvider {
  readonly name = 'fake';
  /** Every computer this provider made, for tests and leak checks. */
  readonly created: FakeComputer[] = [];

  constructor(@InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
    @InjectSettings(FAKE_SETTINGS) private readonly settings: FakeSettings,) {
    super();
  }

  async create(options: CreateComputerOptions): Promise<FakeComputer> {
    if (this.settings.createDelayMs > 0) await sleep(this.settings.createDelayMs, options.signal);
    const computer = new FakeComputer(`fake-${randomUUID().slice(0, 8)}`, {
      width: this.computer.screenWidth,
      height: this.computer.screenHeight,
    });
    this.created.push(computer);
    return computer;
  }

  /** FAKE_REMOTE: a handle another replica can take the computer over by. */
  override handleOf(computer: Computer): string | undefined {
    return this.settings.remote && computer instanceof FakeComputer ? `fake:${computer.id}` : undefined;
  }

  /** FAKE_REMOTE: the computer a handle names, as a fresh synthetic screen under the same id. */
  override async adopt(handle: string, _options: CreateComputerOptions): Promise<FakeComputer> {
    const id = /^fake:(fake-[0-9a-f]{8})$/.exec(handle)?.[1];
    if (!this.settings.remote || !id) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `No fake computer goes by ${handle.slice(0, 80)}.`);
    const computer = new FakeComputer(id, { width: this.computer.screenWidth, height: this.computer.screenHeight });
    this.created.push(computer);
    return computer;
  }

  /** Computers made and not yet closed. */
  open(): FakeComputer[] {
    return this.created.filter((c) => !c.isClosed);
  }
}
