import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '../../common/periodic-job';
import { InjectSettings } from '../../config/config.module';
import { TRAJECTORY_SETTINGS, type TrajectorySettings } from './trajectory.settings';
import { TrajectoryStore } from './trajectory.store';

const MAX_INTERVAL_MS = 3_600_000;

/** With TRAJECTORY_DIR set: prunes old trajectories at start, then every min(TRAJECTORY_MAX_AGE_MS / 2, 1 h). Owns its interval. */
@Injectable()
export class TrajectoryPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Trajectories');
  private readonly job: PeriodicJob;

  constructor(
    private readonly store: TrajectoryStore,
    scheduler: SchedulerRegistry,
    @InjectSettings(TRAJECTORY_SETTINGS) private readonly settings: TrajectorySettings,
  ) {
    this.job = new PeriodicJob(scheduler, 'trajectory-prune', this.logger, async () => void (await this.store.prune()));
  }

  onApplicationBootstrap() {
    if (!this.store.enabled) return;
    void this.tick(); // a failure is logged inside
    this.job.start(Math.max(500, Math.min(MAX_INTERVAL_MS, Math.floor(this.settings.maxAgeMs / 2))));
  }

  onModuleDestroy() {
    this.job.stop();
  }

  tick(): Promise<void> {
    return this.job.run();
  }
}
