import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { SecretRedactor } from '../agent/agent.module';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { Session, SessionService } from '../session/session.module';
import { TaskService } from '../task/task.module';
import { agentLine, toolLine } from './action-log';
import { RECORDING_SETTINGS, type RecordingSettings } from './recording.settings';
import { DeleteReason, RecordingEntry, RecordingMeta, RecordingRef, RecordingStore, SEGMENT, SweepResult } from './recording.store';
import { SessionRecording } from './session-recording';
import { VideoEncoder } from './video-encoder';

/** A finished tool call on a session, to log (from the MCP layer's ToolRunner events). */
export interface RecordedToolCall {
  tool: string;
  /** The arguments as the client sent them: redacted and cut here. */
  args: Record<string, unknown>;
  outcome: string;
  startedAt: number;
  durationMs: number;
}

export interface RecordingEvents {
  /** A session's recording was closed (its session ended). */
  finished: [RecordingMeta];
  /** The sweep ran: what it deleted and how many bytes the recordings take now. */
  swept: [SweepResult];
}

/** A file of a recording, for a download: a stream the caller consumes or destroys, its size and media type. */
export interface RecordingDownload {
  stream: Readable;
  bytes: number;
  mimeType: string;
}

/** What reading a recording's file through MCP gives: its bytes, or only its size when over RECORDING_RESOURCE_MAX_BYTES. */
export interface RecordingFileRead {
  data?: Buffer;
  bytes: number;
  mimeType: string;
  /** Set when the file is larger than this cap (and `data` is absent). */
  overCap?: number;
}

/**
 * With RECORDING=true, records every session from its opening to its end: the action log (tool calls on the
 * session and its tasks' agent steps, with secrets redacted) and a video of its desktop. Recordings are kept
 * for RECORDING_RETENTION_MS after their session ended, within RECORDING_MAX_BYTES, and read only by their
 * principal (list, read, open: for the MCP resources and the dashboard's downloads).
 */
@Injectable()
export class RecordingService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Recordings');
  readonly events = new EventEmitter<RecordingEvents>();
  private readonly recordings = new Map<Session, SessionRecording>();
  private readonly ending = new Set<Promise<unknown>>();
  /** Bytes of all recordings at the last sweep. */
  private bytes = 0;

  constructor(
    @InjectSettings(RECORDING_SETTINGS) private readonly settings: RecordingSettings,
    private readonly store: RecordingStore,
    private readonly encoder: VideoEncoder,
    private readonly sessions: SessionService,
    private readonly tasks: TaskService,
    private readonly redactor: SecretRedactor,
  ) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  async onModuleInit() {
    if (!this.enabled) return;
    await this.store.init();
    this.sessions.events.on('opened', (s) => this.begin(s));
    this.sessions.events.on('ended', (s, reason) => void this.close(s, reason));
    this.tasks.events.on('step', (e) => {
      this.recordings
        .get(e.session)
        ?.append(agentLine({ sessionId: e.session.id, task: e.task, computerId: e.computerId, step: e.step, startedAt: e.startedAt, durationMs: e.durationMs }, this.redact));
    });
  }

  /** RECORDING=true needs a working encoder: checked at boot, like a computer provider's packages. */
  async onApplicationBootstrap() {
    if (this.enabled) await this.encoder.checkReady();
  }

  /** Sessions end before this (the shutdown coordinator ends them all); waits for their recordings to be closed. */
  async onApplicationShutdown() {
    for (const session of [...this.recordings.keys()]) void this.close(session, 'shutdown');
    await Promise.allSettled([...this.ending]);
  }

  private readonly redact = (text: string) => this.redactor.redact(text);

  private begin(session: Session) {
    let reserved: { recordingId: string; dir: string };
    try {
      reserved = this.store.reserve(session.principal, session.id);
    } catch (e) {
      this.logger.warn(`Session ${session.id} is not recorded: ${errorMessage(e)}`);
      return;
    }
    const recording = new SessionRecording(
      {
        ...reserved,
        principal: session.principal,
        sessionId: session.id,
        fps: this.settings.fps,
        segmentS: this.settings.segmentS,
        source: () => (session.ended ? undefined : session.lease?.computer),
      },
      this.store,
      this.encoder,
      this.logger,
    );
    this.recordings.set(session, recording);
    void recording.begin();
  }

  private async close(session: Session, reason: string) {
    const recording = this.recordings.get(session);
    if (!recording) return;
    const done = recording.end(reason).then(
      (meta) => {
        if (meta) this.events.emit('finished', meta);
      },
      (e: unknown) => this.logger.warn(`Could not close the recording of session ${session.id}: ${errorMessage(e)}`),
    );
    this.ending.add(done);
    try {
      await done;
    } finally {
      this.ending.delete(done);
      // Tool calls that finish after the session ended (it aborted them) are not logged: the log is closed.
      this.recordings.delete(session);
    }
  }

  /** Logs a finished tool call on a session being recorded. */
  toolCall(session: Session, call: RecordedToolCall): void {
    this.recordings.get(session)?.append(toolLine({ principal: session.principal, sessionId: session.id, ...call }, this.redact));
  }

  /** Sessions being recorded now. */
  activeCount(): number {
    return this.recordings.size;
  }

  /** Bytes all recordings took at the last sweep. */
  diskBytes(): number {
    return this.bytes;
  }

  /** Applies the retention and the disk cap now (the sweeper calls this; also at boot). */
  async sweep(now = Date.now()): Promise<SweepResult> {
    const result = await this.store.sweep(now);
    this.bytes = result.bytes;
    const by = (reason: DeleteReason) => result.deleted.filter((d) => d.reason === reason).length;
    if (result.deleted.length) this.logger.log(`Deleted ${by('retention')} recording(s) past RECORDING_RETENTION_MS and ${by('disk-cap')} over RECORDING_MAX_BYTES`);
    this.events.emit('swept', result);
    return result;
  }

  /** The principal's recordings, newest first (none when RECORDING is off); those still being written as they stand now. */
  async list(principal: string): Promise<RecordingEntry[]> {
    return (await this.store.list(principal)).map((e) => this.live(e));
  }

  /** One recording of the principal (recording.json, its files and their sizes), or undefined. */
  async read(ref: RecordingRef): Promise<RecordingEntry | undefined> {
    const entry = await this.store.read(ref);
    return entry && this.live(entry);
  }

  /** A recording still being written shows its lines and frames so far (its recording.json is written at the end). */
  private live(entry: RecordingEntry): RecordingEntry {
    if (entry.meta.status !== 'recording') return entry;
    for (const r of this.recordings.values()) {
      if (!r.is(entry.meta)) continue;
      const meta = r.snapshot();
      return { ...entry, meta: { ...meta, video: { ...meta.video, segments: entry.files.filter((f) => SEGMENT.test(f.name)).length } } };
    }
    return entry;
  }

  /**
   * A file of the principal's recording (recording.json, actions.jsonl, video.webm or a segment), as a stream with
   * its size and media type, for a download; undefined when it is not theirs or does not exist. HTTP-agnostic:
   * the caller sends it under its own authentication and destroys the stream when the client goes away.
   */
  open(ref: RecordingRef, file: string): Promise<RecordingDownload | undefined> {
    return this.store.open(ref, file);
  }

  /** A file of the principal's recording read whole, up to RECORDING_RESOURCE_MAX_BYTES (the MCP resources). */
  async readFile(ref: RecordingRef, file: string): Promise<RecordingFileRead | undefined> {
    const cap = this.settings.resourceMaxBytes;
    const r = await this.store.readFile(ref, file, cap);
    if (!r) return undefined;
    return r.data ? r : { ...r, overCap: cap };
  }
}
