import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { errorMessage } from '../common/domain-error';
import { AppConfig } from '../config/config.module';
import { SessionService } from './session.service';

const INTERVAL = 'session-idle-sweep';

/** Every SESSION_SWEEP_INTERVAL_MS, ends sessions idle past their timeout. Owns its interval. */
@Injectable()
export class SessionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SessionSweeper.name);
  private running = false;

  constructor(
    private readonly sessions: SessionService,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap() {
    const timer = setInterval(() => void this.tick(), this.config.session.sweepIntervalMs);
    timer.unref();
    this.scheduler.addInterval(INTERVAL, timer);
  }

  onModuleDestroy() {
    if (this.scheduler.doesExist('interval', INTERVAL)) this.scheduler.deleteInterval(INTERVAL);
  }

  /** One sweep; overlapping ticks are skipped. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const ended = await this.sessions.sweep();
      if (ended.length) this.logger.log(`Idle sweep ended ${ended.length} session(s): ${ended.join(', ')}`);
    } catch (e) {
      this.logger.error(`Idle sweep failed: ${errorMessage(e)}`);
    } finally {
      this.running = false;
    }
  }
}
