import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { MetricsRegistry } from '../metrics/metrics.module';
import { RecordingService } from './recording.service';

/** The recordings' Prometheus metrics: sessions being recorded, recordings closed by video state, frames, deletions, disk use. */
@Injectable()
export class RecordingMetrics implements OnModuleInit {
  constructor(
    private readonly recordings: RecordingService,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m || !this.recordings.enabled) return;
    m.gaugeOf('cua_recordings_active', 'Sessions being recorded now.', () => this.recordings.activeCount());
    m.gaugeOf('cua_recordings_bytes', 'Bytes all recordings take on disk (at the last sweep).', () => this.recordings.diskBytes());
    const closed = m.counter({ name: 'cua_recordings_total', help: 'Recordings closed, by how their video went (recorded, none, unsupported, failed).', labelNames: ['video'] });
    const frames = m.counter({ name: 'cua_recording_frames_total', help: 'Video frames of closed recordings: written, or dropped because the encoder was behind.', labelNames: ['result'] });
    const deleted = m.counter({ name: 'cua_recordings_deleted_total', help: 'Recordings deleted, by reason (retention, disk-cap).', labelNames: ['reason'] });
    m.on(this.recordings.events, 'finished', (meta) => {
      closed.inc({ video: meta.video.state });
      frames.inc({ result: 'written' }, meta.video.frames);
      frames.inc({ result: 'dropped' }, meta.video.dropped_frames);
    });
    m.on(this.recordings.events, 'swept', (r) => {
      for (const d of r.deleted) deleted.inc({ reason: d.reason });
    });
  }
}
