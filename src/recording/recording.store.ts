import { Injectable, Logger } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join, resolve, sep } from 'node:path';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { RECORDING_SETTINGS, type RecordingSettings } from './recording.settings';
import type { VideoState } from './video-recorder';

/** What a recording's recording.json holds. */
export interface RecordingMeta {
  recording_id: string;
  session_id: string;
  principal: string;
  /** recording: being written by this server; done: its session ended; interrupted: the server stopped without ending it. */
  status: 'recording' | 'done' | 'interrupted';
  started_at: string;
  ended_at?: string;
  /** Why the session ended (cleanup, idle, connection-closed, shutdown, unregistered, handed-over, start-failed). */
  end_reason?: string;
  fps: number;
  segment_s: number;
  /** Lines in actions.jsonl. */
  actions: number;
  video: {
    state: VideoState;
    /** The joined video (video.webm), once the session ended and the segments were joined. */
    file?: string;
    /** Segment files written (before they were joined). */
    segments: number;
    frames: number;
    dropped_frames: number;
    /** frames / fps. */
    duration_s: number;
    width?: number;
    height?: number;
    /** When the first frame was captured. */
    started_at?: string;
    error?: string;
  };
}

/** Which recording of a principal: the session and the recording id (a session id can be used again). */
export interface RecordingRef {
  principal: string;
  sessionId: string;
  recordingId: string;
}

export interface RecordingFile {
  name: string;
  bytes: number;
  mimeType: string;
}

/** A recording as listed: its recording.json, its files and their total size. */
export interface RecordingEntry {
  meta: RecordingMeta;
  files: RecordingFile[];
  bytes: number;
}

/** Why the sweep deleted something: past RECORDING_RETENTION_MS, or over RECORDING_MAX_BYTES. */
export type DeleteReason = 'retention' | 'disk-cap';

export interface SweepResult {
  /** Recordings deleted whole. */
  deleted: { dir: string; reason: DeleteReason }[];
  /** Finished segments deleted from recordings still being written (the cap left nothing else). */
  trimmedSegments: number;
  /** Bytes of all recordings after the sweep. */
  bytes: number;
}

const SESSION_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const RECORDING_ID = /^\d{8}-\d{6}-[0-9a-f]{6}$/;
const DIR_NAME = /^(.+)-(\d{8}-\d{6}-[0-9a-f]{6})$/;
export const SEGMENT = /^video-(\d{3,})\.webm$/;
/** The files a recording may hold; nothing else is ever opened. */
const FILE = /^(recording\.json|actions\.jsonl|video\.webm|video-\d{3,}\.webm)$/;
const KEY_FILE = '.principal-key';

function mintRecordingId(now = new Date()) {
  const iso = now.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(3).toString('hex')}`;
}

export function mimeTypeOf(file: string): string {
  return file.endsWith('.webm') ? 'video/webm' : file.endsWith('.jsonl') ? 'application/x-ndjson' : 'application/json';
}

interface Found {
  dir: string;
  principalDir: string;
  meta?: RecordingMeta;
  bytes: number;
  /** Newest modification time of its files (ms). */
  lastWrite: number;
  segments: { path: string; n: number; bytes: number }[];
}

/**
 * Recordings on disk under RECORDING_DIR: `<principal folder>/<session id>-<recording id>/` with
 * recording.json, actions.jsonl and the video. A principal's folder is named by a keyed hash of the
 * principal (the key lives in RECORDING_DIR, readable only by the server), so nobody who sees the folder
 * names can tell or guess whose they are. Names are built here from validated ids, never from raw input;
 * a caller only ever reaches its own principal's folder.
 */
@Injectable()
export class RecordingStore {
  private readonly logger = new Logger('Recordings');
  readonly root: string | undefined;
  private key: Buffer | undefined;
  /** Folders being written by this server: never deleted whole. */
  private readonly active = new Set<string>();
  /** Folders this server made: never mistaken for ones a stopped server left behind. */
  private readonly mine = new Set<string>();

  constructor(@InjectSettings(RECORDING_SETTINGS) private readonly settings: RecordingSettings) {
    this.root = settings.enabled && settings.dir ? resolve(settings.dir) : undefined;
  }

  /** Creates RECORDING_DIR (mode 0700) and its key for the principals' folder names (once, kept across restarts). */
  async init(): Promise<void> {
    if (!this.root) return;
    try {
      await this.makeKey();
    } catch (e) {
      throw new Error(`RECORDING_DIR=${this.root} cannot be used: ${errorMessage(e)}. Give the server a folder it may create and write.`, { cause: e });
    }
  }

  private async makeKey() {
    const root = this.root!;
    await mkdir(root, { recursive: true, mode: 0o700 });
    const keyFile = join(root, KEY_FILE);
    const existing = await readFile(keyFile).catch(() => undefined);
    if (existing && existing.length >= 32) {
      this.key = existing;
      return;
    }
    const key = randomBytes(32);
    await writeFile(keyFile, key, { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    this.key = await readFile(keyFile);
    await chmod(keyFile, 0o600);
  }

  private principalDir(principal: string): string {
    if (!this.root || !this.key) throw new Error('RecordingStore is not initialised');
    return join(this.root, `p-${createHmac('sha256', this.key).update(principal, 'utf8').digest('hex').slice(0, 32)}`);
  }

  /** The folder of a recording, or undefined when an id is not one this store makes. */
  dirOf(ref: RecordingRef): string | undefined {
    if (!this.root || !this.key || !SESSION_ID.test(ref.sessionId) || !RECORDING_ID.test(ref.recordingId)) return undefined;
    const dir = join(this.principalDir(ref.principal), `${ref.sessionId}-${ref.recordingId}`);
    return dir.startsWith(this.root + sep) ? dir : undefined;
  }

  /** A new recording's id and folder (made by its writer), marked as being written until release(). */
  reserve(principal: string, sessionId: string, now = new Date()): { recordingId: string; dir: string } {
    const recordingId = mintRecordingId(now);
    const dir = this.dirOf({ principal, sessionId, recordingId });
    if (!dir) throw new Error(`Session id ${JSON.stringify(sessionId)} cannot name a recording folder`);
    this.active.add(dir);
    this.mine.add(dir);
    return { recordingId, dir };
  }

  /** The recording is no longer written: the sweep may delete it. */
  release(dir: string): void {
    this.active.delete(dir);
  }

  async writeMeta(dir: string, meta: RecordingMeta): Promise<void> {
    const tmp = join(dir, '.recording.json.tmp');
    await writeFile(tmp, JSON.stringify(meta, null, 2));
    await rename(tmp, join(dir, 'recording.json'));
  }

  private async readMeta(dir: string): Promise<RecordingMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(dir, 'recording.json'), 'utf8')) as RecordingMeta;
    } catch {
      return undefined;
    }
  }

  private async filesOf(dir: string): Promise<RecordingFile[]> {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => FILE.test(f)).sort();
    const files: RecordingFile[] = [];
    for (const name of names) {
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st?.isFile()) files.push({ name, bytes: st.size, mimeType: mimeTypeOf(name) });
    }
    return files;
  }

  /** The principal's recordings, newest first. */
  async list(principal: string): Promise<RecordingEntry[]> {
    if (!this.root || !this.key) return [];
    const base = this.principalDir(principal);
    const out: RecordingEntry[] = [];
    for (const name of await readdir(base).catch(() => [] as string[])) {
      const m = DIR_NAME.exec(name);
      if (!m) continue;
      const entry = await this.read({ principal, sessionId: m[1], recordingId: m[2] });
      if (entry) out.push(entry);
    }
    return out.sort((a, b) => b.meta.started_at.localeCompare(a.meta.started_at));
  }

  /** One recording of the principal, or undefined. */
  async read(ref: RecordingRef): Promise<RecordingEntry | undefined> {
    const dir = this.dirOf(ref);
    if (!dir) return undefined;
    const meta = await this.readMeta(dir);
    // The ids in the file must be the ones asked for (a folder copied by hand under another name is not served).
    if (!meta || meta.session_id !== ref.sessionId || meta.recording_id !== ref.recordingId || meta.principal !== ref.principal) return undefined;
    const files = await this.filesOf(dir);
    return { meta, files, bytes: files.reduce((n, f) => n + f.bytes, 0) };
  }

  /** A file of the principal's recording as a stream, with its size and media type; undefined for anything else. */
  async open(ref: RecordingRef, file: string): Promise<{ stream: Readable; bytes: number; mimeType: string } | undefined> {
    const found = await this.locate(ref, file);
    if (!found) return undefined;
    return { stream: createReadStream(found.path), bytes: found.bytes, mimeType: mimeTypeOf(file) };
  }

  /** A file of the principal's recording read whole, unless it is larger than `maxBytes` (then only its size). */
  async readFile(ref: RecordingRef, file: string, maxBytes: number): Promise<{ data?: Buffer; bytes: number; mimeType: string } | undefined> {
    const found = await this.locate(ref, file);
    if (!found) return undefined;
    if (found.bytes > maxBytes) return { bytes: found.bytes, mimeType: mimeTypeOf(file) };
    const data = await readFile(found.path).catch(() => undefined);
    return data ? { data, bytes: data.length, mimeType: mimeTypeOf(file) } : undefined;
  }

  private async locate(ref: RecordingRef, file: string): Promise<{ path: string; bytes: number } | undefined> {
    if (!FILE.test(file) || !(await this.read(ref))) return undefined;
    const path = join(this.dirOf(ref)!, file);
    const st = await stat(path).catch(() => undefined);
    return st?.isFile() ? { path, bytes: st.size } : undefined;
  }

  /** Every recording folder on disk, with its size and newest write. */
  private async scan(): Promise<Found[]> {
    if (!this.root) return [];
    const found: Found[] = [];
    const dirs = async (p: string) => (await readdir(p, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => join(p, d.name));
    for (const p of await dirs(this.root)) {
      for (const dir of await dirs(p)) {
        let bytes = 0;
        let lastWrite = 0;
        const segments: Found['segments'] = [];
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const st = await stat(join(dir, name)).catch(() => undefined);
          if (!st?.isFile()) continue;
          bytes += st.size;
          lastWrite = Math.max(lastWrite, st.mtimeMs);
          const seg = SEGMENT.exec(name);
          if (seg) segments.push({ path: join(dir, name), n: Number(seg[1]), bytes: st.size });
        }
        if (!lastWrite) lastWrite = await stat(dir).then((s) => s.mtimeMs, () => 0);
        found.push({ dir, principalDir: p, meta: await this.readMeta(dir), bytes, lastWrite, segments: segments.sort((a, b) => a.n - b.n) });
      }
    }
    return found;
  }

  /**
   * Keeps RECORDING_DIR within its rules: recordings left `recording` by a server that stopped without ending
   * them become `interrupted`; recordings whose session ended more than RECORDING_RETENTION_MS ago are deleted;
   * then, while all recordings together exceed RECORDING_MAX_BYTES, the oldest finished ones are deleted, and
   * when only recordings being written are left, their oldest finished segments. Never the segment being written.
   */
  async sweep(now = Date.now()): Promise<SweepResult> {
    const result: SweepResult = { deleted: [], trimmedSegments: 0, bytes: 0 };
    if (!this.root) return result;
    const all = await this.scan();
    const kept: Found[] = [];
    for (const f of all) {
      const active = this.active.has(f.dir);
      // Once its recording.json says it is closed, nothing can take it for one left behind: forget it.
      if (!active && f.meta && f.meta.status !== 'recording') this.mine.delete(f.dir);
      if (!active && !this.mine.has(f.dir) && f.meta?.status === 'recording') {
        f.meta = { ...f.meta, status: 'interrupted', ended_at: new Date(f.lastWrite).toISOString() };
        await this.writeMeta(f.dir, f.meta).catch((e: unknown) => this.logger.warn(`Could not mark ${f.dir} interrupted: ${errorMessage(e)}`));
      }
      const ended = f.meta?.ended_at ? Date.parse(f.meta.ended_at) : f.lastWrite;
      if (!active && now - ended > this.settings.retentionMs) {
        await this.remove(f, 'retention', result);
        continue;
      }
      kept.push(f);
    }
    let total = kept.reduce((n, f) => n + f.bytes, 0);
    const startOf = (f: Found) => (f.meta?.started_at ? Date.parse(f.meta.started_at) : f.lastWrite);
    const oldestFirst = [...kept].sort((a, b) => startOf(a) - startOf(b));
    for (const f of oldestFirst) {
      if (total <= this.settings.maxBytes) break;
      if (this.active.has(f.dir)) continue;
      await this.remove(f, 'disk-cap', result);
      total -= f.bytes;
    }
    for (const f of oldestFirst) {
      if (total <= this.settings.maxBytes) break;
      if (!this.active.has(f.dir)) continue;
      // Every segment but the newest is finished (the encoder writes one at a time).
      for (const seg of f.segments.slice(0, -1)) {
        if (total <= this.settings.maxBytes) break;
        await rm(seg.path, { force: true });
        total -= seg.bytes;
        result.trimmedSegments++;
      }
    }
    if (result.trimmedSegments) this.logger.warn(`Recordings exceed RECORDING_MAX_BYTES with only sessions still recording: deleted their ${result.trimmedSegments} oldest video segment(s)`);
    for (const p of new Set(all.map((f) => f.principalDir))) {
      // Not a folder a new recording is being made in (create() marks it active first).
      if ([...this.active].some((a) => a.startsWith(p + sep))) continue;
      if ((await readdir(p).catch(() => ['x'])).length === 0) await rm(p, { recursive: true, force: true });
    }
    result.bytes = total;
    return result;
  }

  private async remove(f: Found, reason: DeleteReason, result: SweepResult) {
    await rm(f.dir, { recursive: true, force: true });
    this.mine.delete(f.dir);
    result.deleted.push({ dir: f.dir, reason });
  }
}
