import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for';

/** How long a redis-server may take to say it is ready (~0.4 s measured on these machines). */
const START_TIMEOUT_MS = 15_000;
/** Ports tried before giving up, when another process takes the free port we were given first. */
const PORT_ATTEMPTS = 5;

/** A real redis-server (Debian's package) on a loopback port, without persistence, in a folder of its own. */
export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  /** SIGKILL: Redis goes away at once (clients see their sockets close); the port stays reserved for restart(). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence), after kill(). */
  restart(): Promise<void>;
  /** Stops it and removes its folder. Idempotent; call it in afterAll. */
  stop(): Promise<void>;
}

/** A port the kernel calls free now; another process may still take it before redis-server binds it (then we retry). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

interface Started {
  proc: ChildProcess;
  exited: Promise<void>;
}

async function launch(port: number, dir: string, extraArgs: string[]): Promise<Started | 'port-taken'> {
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', '--daemonize', 'no', ...extraArgs];
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(proc, 'exit').then(() => undefined);
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  const seen = await waitFor(`redis-server on port ${port} to be ready`, () => (/Ready to accept connections/.test(out) ? 'ready' : gone() && 'exited'), START_TIMEOUT_MS).catch(
    (e: Error) => e,
  );
  if (seen === 'ready') return { proc, exited };
  proc.kill('SIGKILL');
  if (seen === 'exited' && /Address already in use/.test(out)) return 'port-taken';
  throw new Error(`redis-server did not start on port ${port} (${seen instanceof Error ? seen.message : 'it exited'}):\n${out}`);
}

/**
 * Starts Debian's redis-server on a free loopback port: `--save ''` and `--appendonly no` (nothing
 * survives a restart), its working files in a temporary folder. `extraArgs` are added to its command line
 * (e.g. `--requirepass`).
 */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  let started: Started | undefined;
  let port = 0;
  try {
    for (let attempt = 0; !started && attempt < PORT_ATTEMPTS; attempt++) {
      port = await freePort();
      const r = await launch(port, dir, extraArgs);
      if (r !== 'port-taken') started = r;
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  if (!started) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`redis-server found no free port in ${PORT_ATTEMPTS} attempts`);
  }
  let current: Started | undefined = started;
  const kill = async () => {
    const c = current;
    current = undefined;
    if (!c) return;
    c.proc.kill('SIGKILL');
    await c.exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current?.proc.pid ?? -1;
    },
    kill,
    async restart() {
      if (current) throw new Error('redis-server is still running: kill() it first');
      const r = await launch(port, dir, extraArgs);
      if (r === 'port-taken') throw new Error(`port ${port} was taken while redis-server was down`);
      current = r;
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
