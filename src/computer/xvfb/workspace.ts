import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { writeIdentity } from './system-view';
import { newCookie, writeXauthority } from './xauthority';

const run = promisify(execFile);

/** Folder names of computers' workspaces; the random part says nothing about the computer or its session. */
export const WORKSPACE_PREFIX = 'cua-desktop-';
/** The file that marks a folder as a workspace of this server, with the owning server's pid and start. */
export const WORKSPACE_MARKER = '.cua-mcp-server';

export interface WorkspaceOptions {
  /** Where the folder is created; default os.tmpdir(). */
  base?: string;
  /** Host uid (and gid) that gets the folders and the Xauthority file (the sandbox's host user). */
  owner?: number;
  /**
   * Size limit for home and /tmp together, in bytes: both then live on a tmpfs of that size of
   * their own (needs root, to mount it), so filling them fails this computer's writes only.
   */
  diskBytes?: number;
  /** Read-only files for the sandbox's /etc (path relative to /etc → contents), e.g. the desktop profile's. */
  etcFiles?: Readonly<Record<string, string>>;
  /** Files the home starts with (path relative to the home → contents), owned by `owner`. */
  homeFiles?: Readonly<Record<string, string>>;
}

/** This process's identity for markers: its pid and its start time (so a reused pid is not taken for us). */
export async function serverMark(pid = process.pid): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // Field 22 (starttime) counts from the boot; fields after the command name (which may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return `${pid} ${fields[19]}`;
}

/**
 * A computer's private folders on the host: <tmpdir>/cua-desktop-<random>/{home,tmp} (0700, owned
 * by the computer's host user), its Xauthority file holding a fresh random cookie, and `etc/` with
 * the sandbox's own passwd, group, hosts … (read-only to it). With a disk limit the folder is a
 * sized tmpfs. remove() deletes (and unmounts) everything.
 */
export class Workspace {
  readonly home: string;
  readonly tmp: string;
  readonly etc: string;
  readonly xauthority: string;
  private mounted = false;

  private constructor(
    readonly root: string,
    readonly cookie: Buffer,
  ) {
    this.home = join(root, 'home');
    this.tmp = join(root, 'tmp');
    this.etc = join(root, 'etc');
    this.xauthority = join(root, 'Xauthority');
  }

  static async create(o: WorkspaceOptions = {}): Promise<Workspace> {
    const ws = new Workspace(join(o.base ?? tmpdir(), `${WORKSPACE_PREFIX}${randomBytes(9).toString('base64url')}`), newCookie());
    // Not recursive: fails if the folder already exists, so nothing pre-planted is trusted.
    await mkdir(ws.root, { mode: 0o700 });
    try {
      const mark = `${(await serverMark()) ?? process.pid}\n`;
      await writeFile(join(ws.root, WORKSPACE_MARKER), mark, { mode: 0o600 });
      if (o.diskBytes !== undefined) {
        await run('mount', ['-t', 'tmpfs', '-o', `size=${o.diskBytes},mode=0700,nosuid,nodev`, 'cua-desktop', ws.root], { timeout: 10_000 });
        ws.mounted = true;
        // Again on the tmpfs, which hides the first one while it is mounted.
        await writeFile(join(ws.root, WORKSPACE_MARKER), mark, { mode: 0o600 });
      }
      await chmod(ws.root, 0o700); // mkdir's mode is filtered by the umask
      for (const dir of [ws.home, ws.tmp]) {
        await mkdir(dir, { mode: 0o700 });
        await chmod(dir, 0o700);
      }
      await writeXauthority(ws.xauthority, ws.cookie);
      await writeIdentity(ws.etc, o.etcFiles);
      const owned = [ws.root, ws.home, ws.tmp, ws.xauthority];
      for (const [rel, text] of Object.entries(o.homeFiles ?? {})) {
        if (rel.startsWith('/') || rel.split('/').includes('..')) throw new Error(`a home file path must stay below the home: ${rel}`);
        let dir = dirname(join(ws.home, rel));
        const made: string[] = [];
        for (; dir !== ws.home && !existsSync(dir); dir = dirname(dir)) made.unshift(dir);
        for (const d of made) await mkdir(d, { mode: 0o700 });
        await writeFile(join(ws.home, rel), text, { mode: 0o644 });
        owned.push(...made, join(ws.home, rel));
      }
      if (o.owner !== undefined) {
        for (const path of owned) await chown(path, o.owner, o.owner);
      }
    } catch (e) {
      await ws.remove();
      throw e;
    }
    return ws;
  }

  async remove(): Promise<void> {
    if (this.mounted) {
      // Lazy: a process that still holds a file there cannot keep the memory.
      await run('umount', ['-l', this.root], { timeout: 10_000 }).catch(() => undefined);
      this.mounted = false;
    }
    await rm(this.root, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  }
}

/**
 * Removes the workspaces that servers which are gone left behind in `base` (a crash, a SIGKILL):
 * only folders carrying this server's marker, whose server is not running any more. Returns the
 * folders removed.
 */
export async function removeStaleWorkspaces(base = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(WORKSPACE_PREFIX)) continue;
    const root = join(base, name);
    const mark = await readFile(join(root, WORKSPACE_MARKER), 'utf8').then((t) => t.trim(), () => undefined);
    if (!mark) continue; // not ours, or not readable: leave it alone
    const pid = Number(mark.split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && (await serverMark(pid)) === mark) continue; // its server still runs
    await run('umount', ['-l', root], { timeout: 10_000 }).catch(() => undefined);
    await rm(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 }).then(
      () => removed.push(root),
      () => undefined,
    );
  }
  return removed;
}
