import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { serverMark } from './workspace';

const ROOT = '/sys/fs/cgroup';
/** Our groups' names: `cua-mcp-<server pid>-<server start>-<random>` holds one group per computer. */
const GROUP_PREFIX = 'cua-mcp-';

/** Limits of one computer's control groups. */
export interface CgroupLimits {
  memoryBytes: number;
  maxProcesses: number;
}

/** This process's group in a cgroup v1 hierarchy, from /proc/self/cgroup ("4:memory:/a/b"). */
function ownGroup(text: string, controller: string): string | undefined {
  for (const line of text.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes(controller) && path !== undefined) return join(ROOT, controller, path);
  }
  return undefined;
}

async function killAll(dir: string): Promise<void> {
  const pids = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of pids.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Removes a (leaf) group once its processes are gone: bounded, as exiting processes take a moment to leave. */
async function removeGroup(dir: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    await killAll(dir);
    try {
      await rmdir(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return false;
}

/** One computer's groups (memory and pids); every process of the computer joins them at start. */
export class ComputerCgroup {
  constructor(readonly dirs: readonly string[]) {}

  /** Kills whatever is still inside and removes the groups. */
  async remove(): Promise<void> {
    await Promise.all(this.dirs.map((d) => removeGroup(d)));
  }
}

/**
 * Per-computer memory and process limits with cgroup v1 (the memory and pids hierarchies), where
 * the server may create groups below its own: root on a machine that mounts them writable. A
 * computer over its memory limit has its own processes killed by the kernel's OOM killer, never the
 * server's; a fork bomb stops at its process limit. Where this is not available, the sandbox's
 * rlimits and OOM score are what is left (see docs/security.md). cgroup v2 is not used yet.
 */
export class ComputerCgroups {
  private constructor(
    /** The server's own groups: one in the memory hierarchy, one in the pids hierarchy. */
    private readonly bases: { memory: string; pids: string },
  ) {}

  /** The server's groups for its computers, or undefined (with the reason) when they cannot be made here. */
  static async open(): Promise<{ cgroups?: ComputerCgroups; reason?: string }> {
    const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
    const memory = ownGroup(text, 'memory');
    const pids = ownGroup(text, 'pids');
    if (!memory || !pids || !existsSync(join(memory, 'memory.limit_in_bytes')) || !existsSync(join(pids, 'cgroup.procs'))) {
      return { reason: 'no writable cgroup v1 memory and pids hierarchies' };
    }
    // The server's pid and start, and a part of its own: two providers in one process (tests) never share groups.
    const mark = `${((await serverMark()) ?? String(process.pid)).replace(' ', '-')}-${randomBytes(3).toString('hex')}`;
    const bases = { memory: join(memory, GROUP_PREFIX + mark), pids: join(pids, GROUP_PREFIX + mark) };
    try {
      await removeStale(memory);
      await removeStale(pids);
      await mkdir(bases.memory, { recursive: true });
      await mkdir(bases.pids, { recursive: true });
      // Children take part in the parent's accounting (a no-op on kernels where it is always on).
      await writeFile(join(bases.memory, 'memory.use_hierarchy'), '1').catch(() => undefined);
    } catch (e) {
      return { reason: `cannot create control groups (${(e as Error).message})` };
    }
    return { cgroups: new ComputerCgroups(bases) };
  }

  /** Groups for one computer, with its limits set before any process joins. */
  async create(name: string, limits: CgroupLimits): Promise<ComputerCgroup> {
    const memory = join(this.bases.memory, name);
    const pids = join(this.bases.pids, name);
    const group = new ComputerCgroup([memory, pids]);
    try {
      await mkdir(memory);
      await mkdir(pids);
      await writeFile(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // No swap beyond the limit either, where swap accounting exists.
      if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) await writeFile(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes)).catch(() => undefined);
      await writeFile(join(pids, 'pids.max'), String(limits.maxProcesses));
    } catch (e) {
      await group.remove();
      throw e;
    }
    return group;
  }

  /** Removes the server's own groups (each computer removes its own first). */
  async close(): Promise<void> {
    for (const base of [this.bases.memory, this.bases.pids]) {
      const children = await readdir(base, { withFileTypes: true }).catch(() => []);
      for (const c of children) if (c.isDirectory()) await removeGroup(join(base, c.name));
      await rmdir(base).catch(() => undefined);
    }
  }
}

/** Removes groups that servers which are gone left below `parent`. */
async function removeStale(parent: string): Promise<void> {
  const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith(GROUP_PREFIX)) continue;
    const [pid, start] = e.name.slice(GROUP_PREFIX.length).split('-');
    if ((await serverMark(Number(pid))) === `${pid} ${start}`) continue; // its server still runs
    const base = join(parent, e.name);
    const children = await readdir(base, { withFileTypes: true }).catch(() => []);
    for (const c of children) if (c.isDirectory()) await removeGroup(join(base, c.name));
    await rmdir(base).catch(() => undefined);
  }
}
