import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newCookie, writeXauthority } from './xauthority';

/**
 * A computer's private folders on the host: <tmpdir>/cua-xvfb-<id>/{home,tmp} (all 0700) and its
 * Xauthority file holding a fresh random cookie. remove() deletes everything.
 */
export class Workspace {
  readonly home: string;
  readonly tmp: string;
  readonly xauthority: string;

  private constructor(
    readonly root: string,
    readonly cookie: Buffer,
  ) {
    this.home = join(root, 'home');
    this.tmp = join(root, 'tmp');
    this.xauthority = join(root, 'Xauthority');
  }

  /** `owner`: host uid (and gid) that gets the folders and the Xauthority file (the sandbox's host user). */
  static async create(id: string, base = tmpdir(), owner?: number): Promise<Workspace> {
    const ws = new Workspace(join(base, `cua-xvfb-${id}`), newCookie());
    // Not recursive: fails if the folder already exists, so nothing pre-planted is trusted.
    await mkdir(ws.root, { mode: 0o700 });
    try {
      await chmod(ws.root, 0o700); // mkdir's mode is filtered by the umask
      for (const dir of [ws.home, ws.tmp]) {
        await mkdir(dir, { mode: 0o700 });
        await chmod(dir, 0o700);
      }
      await writeXauthority(ws.xauthority, ws.cookie);
      if (owner !== undefined) {
        for (const path of [ws.root, ws.home, ws.tmp, ws.xauthority]) await chown(path, owner, owner);
      }
    } catch (e) {
      await ws.remove();
      throw e;
    }
    return ws;
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  }
}
