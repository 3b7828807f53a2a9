import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { SessionModule } from '../session/session.module';
import { TaskModule } from '../task/task.module';
import { FfmpegVideoEncoder } from './ffmpeg-encoder';
import { RecordingMetrics } from './recording.metrics';
import { RecordingService } from './recording.service';
import { RecordingStore } from './recording.store';
import { RecordingSweeper } from './recording-sweeper';
import { VideoEncoder } from './video-encoder';

/**
 * Recordings of sessions (RECORDING=true): an action log and a video of the desktop per session, kept for a
 * retention within a disk cap, read by their principal only. The MCP layer serves them as resources and feeds
 * the tool calls in; the dashboard offers their files for download through RecordingService.open().
 */
@Module({
  imports: [SessionModule, TaskModule, AgentModule],
  providers: [RecordingService, RecordingStore, RecordingSweeper, RecordingMetrics, { provide: VideoEncoder, useClass: FfmpegVideoEncoder }],
  exports: [RecordingService],
})
export class RecordingModule {}

export { RecordingService } from './recording.service';
export type { RecordedToolCall, RecordingDownload, RecordingEvents, RecordingFileRead } from './recording.service';
export type { RecordingEntry, RecordingFile, RecordingMeta, RecordingRef } from './recording.store';
export type { ActionLine } from './action-log';
