import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { errorMessage } from '../../common/domain-error';
import { AppConfig } from '../../config/config.module';
import { TrajectoryStore } from './trajectory.store';

const INTERVAL = 'trajectory-prune';
const MAX_INTERVAL_MS = 3_600_000;

/** With TRAJECTORY_DIR set: prunes old trajectories at start, then every min(TRAJECTORY_MAX_AGE_MS / 2, 1 h). Owns its interval. */
@Injectable()
export class TrajectoryPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Trajectories');
  private running = false;

  constructor(
    private readonly store: TrajectoryStore,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap() {
    if (!this.store.enabled) return;
    void this.tick(); // a failure is logged inside
    const every = Math.max(500, Math.min(MAX_INTERVAL_MS, Math.floor(this.config.agent.trajectories.maxAgeMs / 2)));
    const timer = setInterval(() => void this.tick(), every);
    timer.unref();
    this.scheduler.addInterval(INTERVAL, timer);
  }

  onModuleDestroy() {
    if (this.scheduler.doesExist('interval', INTERVAL)) this.scheduler.deleteInterval(INTERVAL);
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.store.prune();
    } catch (e) {
      this.logger.error(`Pruning trajectories failed: ${errorMessage(e)}`);
    } finally {
      this.running = false;
    }
  }
}
