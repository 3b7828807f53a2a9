import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '../common/periodic-job';
import { InjectSettings } from '../config/config.module';
import { RECORDING_SETTINGS, type RecordingSettings } from './recording.settings';
import { RecordingService } from './recording.service';

const MAX_INTERVAL_MS = 60_000;

/**
 * With RECORDING=true: applies the retention and the disk cap at boot, every min(RECORDING_RETENTION_MS / 2, 1 min),
 * and as each recording is closed (so a long session's video counts against the cap soon after). Owns its interval.
 */
@Injectable()
export class RecordingSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Recordings');
  private readonly job: PeriodicJob;
  private readonly onFinished = () => void this.tick();

  constructor(
    private readonly recordings: RecordingService,
    scheduler: SchedulerRegistry,
    @InjectSettings(RECORDING_SETTINGS) private readonly settings: RecordingSettings,
  ) {
    this.job = new PeriodicJob(scheduler, 'recording-sweep', this.logger, async () => void (await this.recordings.sweep()));
  }

  onApplicationBootstrap() {
    if (!this.recordings.enabled) return;
    void this.tick(); // a failure is logged inside
    this.job.start(Math.min(MAX_INTERVAL_MS, Math.floor(this.settings.retentionMs / 2)));
    this.recordings.events.on('finished', this.onFinished);
  }

  onModuleDestroy() {
    this.job.stop();
    this.recordings.events.off('finished', this.onFinished);
  }

  tick(): Promise<void> {
    return this.job.run();
  }
}
