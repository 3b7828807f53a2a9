import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { withTimeout } from '../common/async';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Computer, ComputerProviderRegistry } from '../computer/computer.module';
import { InjectSettings } from '../config/config.module';
import { POOL_SETTINGS, type PoolSettings } from '../pool/pool.settings';

const CLOSE_TIMEOUT_MS = 15_000;

/** The one desktop computer-server mode serves: created at boot, closed at shutdown. */
@Injectable()
export class DesktopService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Desktop');
  private computer: Computer | undefined;

  constructor(
    private readonly registry: ComputerProviderRegistry,
    @InjectSettings(POOL_SETTINGS) private readonly pool: PoolSettings,
  ) {}

  /** Runs after the computer registry checked its provider's prerequisites (it is imported first). */
  async onApplicationBootstrap(): Promise<void> {
    const timeoutMs = this.pool.createTimeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    this.computer = await withTimeout(
      this.registry.create({ signal }),
      timeoutMs + 1000,
      () => new DomainError(DomainErrorCode.TIMEOUT, `The desktop did not start within ${timeoutMs} ms (POOL_CREATE_TIMEOUT_MS).`),
    );
    const size = await this.computer.screenSize();
    this.log.log(`Desktop ${this.computer.id} (${this.computer.provider}, ${size.width}x${size.height}) is up`);
  }

  get(): Computer {
    if (!this.computer) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, 'The desktop has not started yet.');
    return this.computer;
  }

  /** The desktop, when it has started (for listing what it can do). */
  peek(): Computer | undefined {
    return this.computer;
  }

  async onApplicationShutdown(): Promise<void> {
    const c = this.computer;
    if (!c) return;
    try {
      await withTimeout(c.close(), CLOSE_TIMEOUT_MS, () => new Error(`the desktop did not close within ${CLOSE_TIMEOUT_MS} ms`));
      this.log.log(`Desktop ${c.id} closed`);
    } catch (e) {
      this.log.error(`Closing desktop ${c.id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
