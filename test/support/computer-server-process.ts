import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { MAIN } from './server-process';

/** The built entry point; E2E_MAIN points tests at another build (e.g. one made while dist/ is being rebuilt). */
export const ENTRY = process.env.E2E_MAIN ?? MAIN;

export interface ComputerServerProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  exited: Promise<unknown>;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts `node dist/main.js computer-server` (one real Xvfb desktop served over the cua protocol)
 * on loopback and waits until it prints its URL (at most 30 s). CONTAINER_NAME is removed from its
 * environment (see the protocol reference).
 */
export async function spawnComputerServer(options: { port?: number; apiKey?: string; env?: Record<string, string> } = {}): Promise<ComputerServerProcess> {
  const { CONTAINER_NAME: _c, ...parentEnv } = process.env;
  const env: Record<string, string | undefined> = {
    ...parentEnv,
    LOG_LEVEL: 'info',
    NO_COLOR: '1',
    COMPUTER_PROVIDER: 'xvfb',
    SCREEN_WIDTH: '800',
    SCREEN_HEIGHT: '600',
    ...options.env,
  };
  if (options.apiKey) env.COMPUTER_SERVER_API_KEY = options.apiKey;
  else delete env.COMPUTER_SERVER_API_KEY;
  const proc = spawn(process.execPath, [ENTRY, 'computer-server', '--host', '127.0.0.1', '--port', String(options.port ?? 0)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(proc, 'exit');
  const deadline = Date.now() + 30_000;
  let m: RegExpExecArray | null = null;
  while (!(m = /Computer server: (http:\/\/127\.0\.0\.1:(\d+))/.exec(out)) && Date.now() < deadline && proc.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!m) {
    proc.kill('SIGKILL');
    throw new Error(`computer-server did not start:\n${out}`);
  }
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  return { proc, url: m[1], port: Number(m[2]), output: () => out, exited, stop };
}

export interface MainProcess {
  proc: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts the MCP server (ENTRY) on a free loopback port and waits until it listens (at most 30 s). */
export async function spawnMain(env: Record<string, string>): Promise<MainProcess> {
  const { CONTAINER_NAME: _c, ...parentEnv } = process.env;
  const proc = spawn(process.execPath, [ENTRY], {
    env: { ...parentEnv, PORT: '0', LOG_LEVEL: 'info', NO_COLOR: '1', CUA_MODEL_NAME: 'scripted/demo', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(proc, 'exit');
  const deadline = Date.now() + 30_000;
  let m: RegExpExecArray | null = null;
  while (!(m = /MCP endpoint: (http:\/\/\S+)\/mcp/.exec(out)) && Date.now() < deadline && proc.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!m) {
    proc.kill('SIGKILL');
    throw new Error(`server did not start:\n${out}`);
  }
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  return { proc, url: `${m[1]}/mcp`, output: () => out, stop };
}

/** Polls `check` every 100 ms until it returns a value other than undefined, at most `ms`. */
export async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
