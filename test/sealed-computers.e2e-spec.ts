import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, textOf } from './support/app';
import { descendsFrom } from './support/processes';
import { spawnServer, ServerProcess } from './support/server-process';
import { waitFor } from './support/wait-for';

/*
 * A tenant attacks from inside its own computer (real Xvfb desktops, the built server as its own
 * process). Every attack is bounded by construction, so a failed protection cannot harm the
 * machine: at most 400 processes, 600 MB of memory, 100 MB of disk. For each: the attacker fails
 * or is cut off, the other tenant keeps working, /health/ready stays 200 and the server is the
 * same process afterwards.
 */

const KEY_A = `alice-${randomBytes(12).toString('hex')}`;
const KEY_B = `bob-${randomBytes(12).toString('hex')}`;
const NON_ROOT = 10001;

type Server = ServerProcess & { stop(ms: number): Promise<void> };

async function connect(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'sealed', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } }));
  return client;
}

async function sh(client: Client, command: string, extra: Record<string, unknown> = {}) {
  const r = await call(client, 'run_command', { command, ...extra });
  const sc = r.structuredContent as { stdout: string; stderr: string; exit_code: number | null } | undefined;
  return { isError: r.isError, text: textOf(r), stdout: sc?.stdout ?? '', stderr: sc?.stderr ?? '', exitCode: sc?.exit_code };
}

async function ready(server: Server): Promise<number> {
  return (await fetch(`${server.base}/health/ready`)).status;
}


/** Host processes the server started (through sandboxes) whose command line is exactly `argv`. */
function processesRunning(server: Server, argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === want && descendsFrom(pid, server.proc.pid!);
      } catch {
        return false;
      }
    });
}

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('Sealed computers: what a tenant cannot do from inside its desktop', () => {
  const clients: Client[] = [];
  let server: Server | undefined;
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await server?.stop(10_000);
    server = undefined;
  });

  describe('a server that is not root (the image and the chart run as uid 10001)', () => {
    const dir = `/etc/cua-sealed-test-${randomBytes(6).toString('hex')}`;
    const planted = `${dir}.planted`;
    const work = mkdtempSync(join(tmpdir(), 'cua-sealed-nonroot-'));
    beforeAll(() => {
      // The chart's layout: the keys file below /etc, readable by the server's group.
      mkdirSync(dir, { mode: 0o750 });
      writeFileSync(join(dir, 'api-keys'), `${KEY_A}:alice\n${KEY_B}:bob\n`, { mode: 0o440 });
      chownSync(dir, 0, NON_ROOT);
      chownSync(join(dir, 'api-keys'), 0, NON_ROOT);
      writeFileSync(planted, 'planted-in-etc\n', { mode: 0o644 });
      chownSync(work, NON_ROOT, NON_ROOT);
      chmodSync(work, 0o700);
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(planted, { force: true });
      rmSync(work, { recursive: true, force: true });
    });

    it('cannot read the API keys file, a file planted in /etc, the host\'s users or the server\'s environment', async () => {
      server = await spawnServer(
        { COMPUTER_PROVIDER: 'xvfb', API_KEYS_FILE: join(dir, 'api-keys'), TMPDIR: work, HOME: work, CANARY_SETTING: 'server-env-canary', POOL_MIN_WARM: '0' },
        undefined,
        30_000,
        ['setpriv', '--reuid', String(NON_ROOT), '--regid', String(NON_ROOT), '--clear-groups', '--'],
      );
      expect(uidOf(server.proc.pid!)).toBe(NON_ROOT);
      // The server itself reads the file: alice's key works.
      const alice = await connect(server.url, KEY_A);
      clients.push(alice);
      const r = await sh(alice, `cat ${dir}/api-keys; cat ${planted}; ls /etc; cat /etc/passwd /etc/group; id; hostname; env; ls ${work}`);
      const seen = r.stdout + r.stderr;
      expect(seen).not.toContain(KEY_A);
      expect(seen).not.toContain(KEY_B);
      expect(seen).not.toContain('planted-in-etc');
      expect(seen).not.toContain('server-env-canary');
      expect(r.stderr).toMatch(new RegExp(`${dir}/api-keys: No such file`));
      // Of /etc only the allowed entries and the desktop's own identity files.
      const etc = r.stdout.split('\n').filter((l) => /^[\w.+-]+$/.test(l));
      expect(etc).toEqual(expect.arrayContaining(['passwd', 'group', 'hosts', 'hostname', 'fonts', 'ssl']));
      for (const hidden of ['shadow', 'sudoers', 'npmrc', 'gitconfig', 'pip.conf', 'ssh', 'apt', 'cron.d', dir.slice('/etc/'.length)]) expect(etc).not.toContain(hidden);
      expect(r.stdout).toMatch(/^uid=1000\(user\) gid=1000\(user\)/m);
      expect(r.stdout).toMatch(/^desktop$/m);
      expect(r.stdout).not.toMatch(/^(daemon|_apt|postgres|www-data):/m); // host users
      expect(r.stderr).toMatch(new RegExp(`cannot access '${work}': No such file`)); // the server's own folders are not there
      // The desktop's X server does not run as root either.
      const xvfb = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'Xvfb' && descendsFrom(p, server!.proc.pid!);
        } catch {
          return false;
        }
      });
      expect(xvfb).toHaveLength(1);
      expect(uidOf(xvfb[0])).toBe(NON_ROOT);
    }, 90_000);
  });

  describe('a root server with small limits', () => {
    const LIMITS = { SESSION_MAX_PROCESSES: '64', SESSION_MAX_MEMORY_MB: '256', SESSION_MAX_DISK_MB: '32', SESSION_MAX_COMMANDS: '3' };
    let alice: Client;
    let bob: Client;
    let pid: number;
    beforeEach(async () => {
      server = await spawnServer({ COMPUTER_PROVIDER: 'xvfb', API_KEYS: `${KEY_A}:alice,${KEY_B}:bob`, POOL_MIN_WARM: '0', POOL_MAX_SIZE: '4', ...LIMITS }, undefined, 30_000);
      pid = server.proc.pid!;
      alice = await connect(server.url, KEY_A);
      bob = await connect(server.url, KEY_B);
      clients.push(alice, bob);
      // Both have their computers before the attack.
      expect((await sh(bob, 'echo ready')).stdout).toBe('ready\n');
      expect((await sh(alice, 'echo ready')).stdout).toBe('ready\n');
    }, 60_000);

    const stillServing = async () => {
      expect(server!.proc.exitCode).toBeNull();
      expect(server!.proc.pid).toBe(pid);
      expect(await ready(server!)).toBe(200);
      const b = await sh(bob, 'echo bob-works > ~/b.txt && cat ~/b.txt');
      expect(b.stdout).toBe('bob-works\n');
    };

    it('a fork bomb stops at the session\'s process limit; the other tenant and the server keep working', async () => {
      // Bounded: 400 sleepers at most, each asking for more processes than the limit allows.
      // (A shell gives up at its first failed fork, and its sandbox with it; this keeps what it got.)
      const BOMB = [
        'import os, sys, time',
        'n = 0',
        'for i in range(400):',
        '    try:',
        '        pid = os.fork()',
        '    except OSError as e:',
        '        print("fork failed:", e.strerror, "after", n, flush=True)',
        '        break',
        '    if pid == 0:',
        '        os.execvp("sleep", ["sleep", "3141"])',
        '    n += 1',
        'time.sleep(3141)',
      ].join('\n');
      const bomb = sh(alice, `python3 -c '${BOMB}'`, { timeout_ms: 10_000, session_id: 'bomb' });
      // The sleepers pile up to the limit and no further.
      const most = await waitFor('the bomb to reach its limit', () => {
        const n = processesRunning(server!, ['sleep', '3141']).length;
        return n >= 40 && n;
      });
      expect(most).toBeLessThanOrEqual(64);
      await stillServing();
      expect(processesRunning(server!, ['sleep', '3141']).length).toBeLessThanOrEqual(64);
      // Ending the session ends the bomb, every process of it.
      // It ran into the limit (its output comes back when the command times out), and is gone with it.
      const ended = await bomb;
      expect(ended.stdout).toMatch(/^fork failed: Resource temporarily unavailable after \d+$/m);
      await waitFor('the bomb to be gone', () => processesRunning(server!, ['sleep', '3141']).length === 0);
      await stillServing();
    }, 90_000);

    it('a memory hog is killed inside its session, never the server', async () => {
      const r = await sh(alice, 'python3 -c "b = bytearray(600 * 1024 * 1024); print(\'survived\')"; echo "exit=$?"', { timeout_ms: 30_000 });
      expect(r.stdout).not.toContain('survived');
      expect(r.stdout).toMatch(/exit=137/); // SIGKILL from the OOM killer, inside the session's control group
      await stillServing();
      // The attacker's computer is still usable afterwards.
      expect((await sh(alice, 'echo alive')).stdout).toBe('alive\n');
    }, 90_000);

    it('filling home and /tmp fails that session\'s writes only', async () => {
      const r = await sh(alice, 'head -c 100M /dev/zero > ~/fill; echo "home=$?"; head -c 100M /dev/zero > /tmp/fill; echo "tmp=$?"; du -sm ~/fill /tmp/fill', { timeout_ms: 30_000 });
      expect(r.stdout).toMatch(/home=[1-9]/);
      expect(r.stdout).toMatch(/tmp=[1-9]/);
      expect(r.stderr).toMatch(/No space left on device|File size limit exceeded/);
      const sizes = [...r.stdout.matchAll(/^(\d+)\s/gm)].map((m) => Number(m[1]));
      expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(32);
      await stillServing();
      // A new desktop still starts: the host's /tmp was not filled.
      const carol = await connect(server!.url, KEY_A);
      clients.push(carol);
      expect((await sh(carol, 'echo fresh', { session_id: 'second' })).stdout).toBe('fresh\n');
    }, 90_000);

    it('more commands at once than SESSION_MAX_COMMANDS get COMPUTER_BUSY at once; others are not affected', async () => {
      const long = [1, 2, 3].map(() => sh(alice, 'sleep 3142', { timeout_ms: 30_000, session_id: 'busy' }));
      await waitFor('three commands running', () => processesRunning(server!, ['sleep', '3142']).length === 3);
      const fourth = await call(alice, 'run_command', { command: 'echo four', session_id: 'busy' });
      expect(fourth.isError).toBe(true);
      expect(textOf(fourth)).toMatch(/^\[COMPUTER_BUSY\].*3 commands at once.*SESSION_MAX_COMMANDS/);
      await stillServing();
      // Another session of the same tenant is not affected either.
      expect((await sh(alice, 'echo other')).stdout).toBe('other\n');
      await call(alice, 'cleanup_session', { session_id: 'busy' }); // ends the three commands
      for (const r of await Promise.all(long)) expect(r.exitCode ?? null).toBeNull(); // killed (or ended with the session), never finished
      expect(processesRunning(server!, ['sleep', '3142'])).toEqual([]);
    }, 90_000);

    it('the X server is no oracle for host files: a font path it cannot see fails like one that does not exist', async () => {
      // A valid font folder on the host (an X server that sees the host accepts it), and a path that does not exist.
      const dir = mkdtempSync('/var/tmp/cua-fontpath-');
      try {
        writeFileSync(join(dir, 'fonts.dir'), '0\n');
        chmodSync(dir, 0o755);
        const probe = async (path: string) => sh(alice, `xset +fp ${path} 2>&1; echo "rc=$?"`);
        const existing = await probe(dir);
        const missing = await probe(`${dir}-missing`);
        expect(existing.stdout).toMatch(/bad font path element/); // xset ran and the X server refused
        expect(existing.stdout.replace(dir, 'P')).toBe(missing.stdout.replace(`${dir}-missing`, 'P'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it('the X servers and sandboxes run as one unprivileged host uid per computer', async () => {
      const xvfb = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'Xvfb' && descendsFrom(p, pid);
        } catch {
          return false;
        }
      });
      expect(xvfb).toHaveLength(2);
      const uids = xvfb.map(uidOf);
      for (const u of uids) expect(u).toBeGreaterThanOrEqual(50_000);
      expect(new Set(uids).size).toBe(2);
      const sleeping = sh(alice, 'sleep 3143', { timeout_ms: 3000 });
      const [sleeper] = await waitFor('the sleeper', () => {
        const s = processesRunning(server!, ['sleep', '3143']);
        return s.length === 1 && s;
      });
      expect(uids).toContain(uidOf(sleeper));
      expect((await sleeping).text).toMatch(/killed after 3000 ms \(timeout\)/);
    }, 60_000);
  });

  it('at start, removes desktop folders a crashed server left behind, and only those', async () => {
    const base = mkdtempSync(join(tmpdir(), 'cua-sealed-stale-'));
    try {
      const stale = join(base, 'cua-desktop-stale');
      mkdirSync(join(stale, 'home'), { recursive: true });
      writeFileSync(join(stale, '.cua-mcp-server'), '999999999 1\n'); // a server that is gone
      writeFileSync(join(stale, 'home', 'left.txt'), 'left behind');
      const foreign = join(base, 'cua-desktop-foreign'); // no marker: not ours
      mkdirSync(foreign);
      server = await spawnServer({ COMPUTER_PROVIDER: 'xvfb', TMPDIR: base, POOL_MIN_WARM: '1' }, undefined, 30_000);
      await waitFor('the stale folder to go', () => !existsSync(stale));
      expect(existsSync(foreign)).toBe(true);
      // The server's own desktop folder is there, with a name that says nothing about it.
      const own = await waitFor('the warm desktop', () => {
        const l = readdirSync(base).filter((n) => n.startsWith('cua-desktop-') && n !== 'cua-desktop-foreign');
        return l.length === 1 && l;
      });
      expect(own).toHaveLength(1);
      expect(statSync(join(base, own[0])).mode & 0o777).toBe(0o700);
      await server.stop(10_000);
      server = undefined;
      expect(readdirSync(base).sort()).toEqual(['cua-desktop-foreign']);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }, 60_000);
});
