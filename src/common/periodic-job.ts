import type { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { errorMessage } from './domain-error';

/**
 * A job run every so often through Nest's SchedulerRegistry, for the sweepers and pruners: its
 * owner starts it (onApplicationBootstrap) and stops it (onModuleDestroy); runs never overlap; a
 * failing run is logged and the next one still comes.
 */
export class PeriodicJob {
  private running = false;

  constructor(
    private readonly scheduler: SchedulerRegistry,
    private readonly name: string,
    private readonly logger: Logger,
    private readonly job: () => Promise<void>,
  ) {}

  start(everyMs: number): void {
    const timer = setInterval(() => void this.run(), everyMs);
    timer.unref();
    this.scheduler.addInterval(this.name, timer);
  }

  stop(): void {
    if (this.scheduler.doesExist('interval', this.name)) this.scheduler.deleteInterval(this.name);
  }

  /** One run now; skipped while the previous one is still going. */
  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.job();
    } catch (e) {
      this.logger.error(`${this.name} failed: ${errorMessage(e)}`);
    } finally {
      this.running = false;
    }
  }
}
