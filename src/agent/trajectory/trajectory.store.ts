import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { errorMessage } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { TRAJECTORY_SETTINGS, type TrajectorySettings } from './trajectory.settings';
import { settleJson } from '../../computer/computer.module';
import type { Screenshot } from '../../computer/computer.module';
import type { StepRecord, TokenUsage } from '../model.port';
import { SecretRedactor } from '../secret-redactor';

/** What a trajectory folder's task.json holds. */
export interface TrajectoryMeta {
  task_id: string;
  session_id: string;
  task: string;
  model: string;
  status: 'running' | 'done' | 'failed';
  started_at: string;
  finished_at?: string;
  steps?: number;
  answer?: string;
  error?: string;
  usage?: { input_tokens: number; output_tokens: number };
}

export interface TrajectoryOwner {
  principal: string;
  sessionId: string;
}

const SESSION_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const TASK_ID = /^\d{8}-\d{6}-[0-9a-f]{6}$/;
const FILE = /^(task\.json|steps\.jsonl|(step-\d{3,4}(-action-\d{1,3})?|final)\.(png|jpg))$/;

function principalDir(principal: string) {
  return `p-${createHash('sha256').update(principal).digest('hex').slice(0, 32)}`;
}
/** base64url has no dots or slashes: a session id can never climb out of its folder. */
function sessionDir(sessionId: string) {
  return `s-${Buffer.from(sessionId, 'utf8').toString('base64url')}`;
}
function sessionOfDir(name: string): string | undefined {
  if (!name.startsWith('s-')) return undefined;
  const id = Buffer.from(name.slice(2), 'base64url').toString('utf8');
  return SESSION_ID.test(id) && sessionDir(id) === name ? id : undefined;
}
function mintTaskId(now = new Date()) {
  const iso = now.toISOString(); // 2026-11-23T10:15:00.000Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(3).toString('hex')}`;
}
function imageName(base: string, shot: Screenshot) {
  return `${base}.${shot.mimeType === 'image/png' ? 'png' : 'jpg'}`;
}
export function usageJson(u: TokenUsage) {
  return { input_tokens: u.inputTokens, output_tokens: u.outputTokens };
}

/** Writes one task's trajectory, in order, with the configured secrets redacted; a failed write is logged and never fails the task. */
export class TrajectoryWriter {
  private chain: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(
    readonly taskId: string,
    readonly dir: string,
    private meta: TrajectoryMeta,
    private readonly logger: Logger,
    private readonly redactor: SecretRedactor,
    private readonly onClose: () => void,
  ) {}

  private enqueue(work: () => Promise<void>) {
    this.chain = this.chain.then(work).catch((e: unknown) => {
      if (!this.warned) this.logger.warn(`Could not write trajectory ${this.dir}: ${errorMessage(e)}`);
      this.warned = true;
    });
    return this.chain;
  }

  begin() {
    return this.enqueue(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(join(this.dir, 'task.json'), JSON.stringify(this.redactor.redactSecretsDeep(this.meta), null, 2));
    });
  }

  /** One line of steps.jsonl, and the screenshot the model saw at that step. */
  step(record: StepRecord, shown: Screenshot, at: Date) {
    const base = `step-${String(record.step).padStart(3, '0')}`;
    const shot = imageName(base, shown);
    // Images an action returned (zoom, mid-turn screenshot) are files beside the step's screenshot.
    const extra: [string, Buffer][] = [];
    const results = record.outcomes.map(({ image, ...o }, i) => {
      if (!image) return o;
      const name = imageName(`${base}-action-${i + 1}`, image);
      extra.push([name, image.data]);
      return { ...o, image: name };
    });
    const line = this.redactor.redactSecretsDeep({
      step: record.step,
      at: at.toISOString(),
      model_ms: record.modelMs,
      screenshot: shot,
      screenshot_size: { width: shown.width, height: shown.height, screen_width: shown.screenWidth, screen_height: shown.screenHeight },
      thought: record.thought,
      actions: record.actions,
      results,
      settle: record.settle ? settleJson(record.settle) : undefined,
      usage: record.usage ? usageJson(record.usage) : undefined,
      model_output: record.state,
    });
    return this.enqueue(async () => {
      await writeFile(join(this.dir, shot), shown.data);
      for (const [name, data] of extra) await writeFile(join(this.dir, name), data);
      await appendFile(join(this.dir, 'steps.jsonl'), JSON.stringify(line) + '\n');
    });
  }

  finish(update: Partial<TrajectoryMeta>, final?: Screenshot) {
    this.meta = { ...this.meta, ...update, finished_at: new Date().toISOString() };
    const meta = this.meta;
    return this.enqueue(async () => {
      if (final) await writeFile(join(this.dir, imageName('final', final)), final.data);
      await writeFile(join(this.dir, 'task.json'), JSON.stringify(this.redactor.redactSecretsDeep(meta), null, 2));
    }).finally(this.onClose);
  }
}

/**
 * Trajectories on disk under TRAJECTORY_DIR: one folder per task (`task.json`, `steps.jsonl`, one image per step,
 * `final.png`), grouped by principal and session so that a caller only ever reaches its own. Names are built
 * here from validated ids (a session id is stored base64url-encoded), never from raw input.
 */
@Injectable()
export class TrajectoryStore {
  private readonly logger = new Logger('Trajectories');
  private readonly root?: string;
  private readonly active = new Set<string>();

  constructor(
    @InjectSettings(TRAJECTORY_SETTINGS) private readonly settings: TrajectorySettings,
    private readonly redactor: SecretRedactor,
  ) {
    const dir = settings.dir;
    this.root = dir ? resolve(dir) : undefined;
  }

  get enabled(): boolean {
    return this.root !== undefined;
  }

  private taskDir(owner: TrajectoryOwner, taskId: string): string | undefined {
    if (!this.root || !SESSION_ID.test(owner.sessionId) || !TASK_ID.test(taskId)) return undefined;
    const dir = join(this.root, principalDir(owner.principal), sessionDir(owner.sessionId), taskId);
    return dir.startsWith(this.root + sep) ? dir : undefined;
  }

  /** Starts a trajectory, or returns undefined when TRAJECTORY_DIR is not set. */
  async start(owner: TrajectoryOwner, task: string, model: string): Promise<TrajectoryWriter | undefined> {
    const taskId = mintTaskId();
    const dir = this.taskDir(owner, taskId);
    if (!dir) return undefined;
    this.active.add(dir);
    const meta: TrajectoryMeta = { task_id: taskId, session_id: owner.sessionId, task, model, status: 'running', started_at: new Date().toISOString() };
    const writer = new TrajectoryWriter(taskId, dir, meta, this.logger, this.redactor, () => this.active.delete(dir));
    await writer.begin();
    return writer;
  }

  /** The principal's trajectories, newest first. */
  async list(principal: string): Promise<TrajectoryMeta[]> {
    if (!this.root) return [];
    const base = join(this.root, principalDir(principal));
    const out: TrajectoryMeta[] = [];
    for (const s of await readdir(base).catch(() => [] as string[])) {
      const sessionId = sessionOfDir(s);
      if (!sessionId) continue;
      for (const t of await readdir(join(base, s)).catch(() => [] as string[])) {
        const meta = await this.meta({ principal, sessionId }, t);
        if (meta) out.push(meta);
      }
    }
    return out.sort((a, b) => b.started_at.localeCompare(a.started_at));
  }

  private async meta(owner: TrajectoryOwner, taskId: string): Promise<TrajectoryMeta | undefined> {
    const dir = this.taskDir(owner, taskId);
    if (!dir) return undefined;
    try {
      return JSON.parse(await readFile(join(dir, 'task.json'), 'utf8')) as TrajectoryMeta;
    } catch {
      return undefined;
    }
  }

  /** One trajectory of the principal: task.json, the parsed steps, and the names of its files. */
  async read(owner: TrajectoryOwner, taskId: string): Promise<{ meta: TrajectoryMeta; steps: unknown[]; files: string[] } | undefined> {
    const meta = await this.meta(owner, taskId);
    const dir = this.taskDir(owner, taskId);
    if (!meta || !dir) return undefined;
    const lines = await readFile(join(dir, 'steps.jsonl'), 'utf8').catch(() => '');
    const steps = lines.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
    const files = (await readdir(dir)).filter((f) => FILE.test(f)).sort();
    return { meta, steps, files };
  }

  /** One file of a trajectory of the principal, or undefined (unknown names are never opened). */
  async readFile(owner: TrajectoryOwner, taskId: string, file: string): Promise<{ data: Buffer; mimeType: string } | undefined> {
    const dir = this.taskDir(owner, taskId);
    if (!dir || !FILE.test(file)) return undefined;
    const data = await readFile(join(dir, file)).catch(() => undefined);
    if (!data) return undefined;
    const mimeType = file.endsWith('.png') ? 'image/png' : file.endsWith('.jpg') ? 'image/jpeg' : file.endsWith('.jsonl') ? 'application/x-ndjson' : 'application/json';
    return { data, mimeType };
  }

  private busy(dir: string) {
    return [...this.active].some((a) => a.startsWith(dir + sep));
  }

  /** Removes trajectories last written more than TRAJECTORY_MAX_AGE_MS ago (never one still being written). */
  async prune(now = Date.now()): Promise<number> {
    if (!this.root) return 0;
    const maxAge = this.settings.maxAgeMs;
    let removed = 0;
    const dirs = async (p: string) => (await readdir(p, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => join(p, d.name));
    for (const p of await dirs(this.root)) {
      for (const s of await dirs(p)) {
        for (const t of await dirs(s)) {
          if (this.active.has(t)) continue;
          const times = await Promise.all(['task.json', 'steps.jsonl'].map((f) => stat(join(t, f)).then((st) => st.mtimeMs, () => 0)));
          const last = Math.max(...times, await stat(t).then((st) => st.mtimeMs, () => 0));
          if (now - last > maxAge) {
            await rm(t, { recursive: true, force: true });
            removed++;
          }
        }
        if ((await readdir(s).catch(() => ['x'])).length === 0 && !this.busy(s)) await rm(s, { recursive: true, force: true });
      }
      if ((await readdir(p).catch(() => ['x'])).length === 0 && !this.busy(p)) await rm(p, { recursive: true, force: true });
    }
    if (removed) this.logger.log(`Pruned ${removed} trajectorie(s) older than ${maxAge} ms`);
    return removed;
  }
}
