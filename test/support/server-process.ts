import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  base: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built server (dist/main.js) as its own process on a free port and waits until it listens. */
export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const { CONTAINER_NAME: _c, ...parentEnv } = process.env;
  const proc = spawn(process.execPath, [MAIN], {
    env: { ...parentEnv, PORT: '0', LOG_LEVEL: 'info', NO_COLOR: '1', CUA_MODEL_NAME: 'scripted/demo', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(proc, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const deadline = Date.now() + 20_000;
  let m: RegExpExecArray | null = null;
  while (!(m = /MCP endpoint: (http:\/\/\S+)\/mcp/.exec(out)) && Date.now() < deadline && proc.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!m) {
    proc.kill('SIGKILL');
    throw new Error(`server did not start:\n${out}`);
  }
  return { proc, url: `${m[1]}/mcp`, base: m[1], output: () => out, exited };
}
