import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '../common/periodic-job';
import { InjectSettings } from '../config/config.module';
import { SESSION_SETTINGS, type SessionSettings } from './session.settings';
import { SessionService } from './session.service';

/** Every SESSION_SWEEP_INTERVAL_MS, ends sessions idle past their timeout. Owns its interval. */
@Injectable()
export class SessionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SessionSweeper.name);
  private readonly job: PeriodicJob;

  constructor(
    private readonly sessions: SessionService,
    scheduler: SchedulerRegistry,
    @InjectSettings(SESSION_SETTINGS) private readonly settings: SessionSettings,
  ) {
    this.job = new PeriodicJob(scheduler, 'session-idle-sweep', this.logger, async () => {
      const ended = await this.sessions.sweep();
      if (ended.length) this.logger.log(`Idle sweep ended ${ended.length} session(s): ${ended.join(', ')}`);
    });
  }

  onApplicationBootstrap() {
    this.job.start(this.settings.sweepIntervalMs);
  }

  onModuleDestroy() {
    this.job.stop();
  }

  /** One sweep; overlapping ticks are skipped. */
  tick(): Promise<void> {
    return this.job.run();
  }
}
