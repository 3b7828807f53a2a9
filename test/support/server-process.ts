import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { waitFor } from './wait-for';

export const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  base: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface NodeProcess {
  proc: ChildProcess;
  /** What the ready pattern matched in the output. */
  match: RegExpExecArray;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves when the process is gone. */
  stop(killAfterMs: number): Promise<void>;
}

/**
 * This process's environment for a child: without CONTAINER_NAME (see the protocol reference) and
 * `drop`, plus `extra`. Desktops get no network unless asked for (COMPUTER_NETWORK): no test's
 * desktop may reach past this machine.
 */
export function childEnv(extra: Record<string, string>, drop: string[] = []): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of ['CONTAINER_NAME', ...drop]) delete env[key];
  return { COMPUTER_NETWORK: 'off', ...env, ...extra };
}

/**
 * Starts `node <args>` and waits (at most `timeoutMs`) until its output matches `ready`; kills it
 * and throws with the output when it does not (or exits first).
 */
export async function startNode(args: string[], env: Record<string, string | undefined>, ready: RegExp, what: string, timeoutMs: number, via: string[] = []): Promise<NodeProcess> {
  // `via`: a launcher that execs node (e.g. setpriv to another user), so the pid stays node's.
  const [file, ...rest] = [...via, process.execPath, ...args];
  const proc = spawn(file, rest, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(proc, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const ended = () => proc.exitCode !== null || proc.signalCode !== null;
  const m = await waitFor<RegExpExecArray | 'it exited'>(`${what} to start`, () => ready.exec(out) ?? (ended() && 'it exited'), timeoutMs).catch(() => `not within ${timeoutMs} ms`);
  if (typeof m === 'string') {
    proc.kill('SIGKILL');
    throw new Error(`${what} did not start (${m}):\n${out}`);
  }
  const stop = async (killAfterMs: number) => {
    if (ended()) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(t);
  };
  return { proc, match: m, output: () => out, exited, stop };
}

/**
 * Starts the built server (dist/main.js) as its own process on a free port and waits until it
 * listens; `via` runs it through a launcher that execs node (e.g. setpriv, to run it as another user).
 */
export async function spawnServer(env: Record<string, string>, main = MAIN, timeoutMs = 20_000, via: string[] = []): Promise<ServerProcess & Pick<NodeProcess, 'stop'>> {
  const p = await startNode(
    [main],
    childEnv({ PORT: '0', LOG_LEVEL: 'info', NO_COLOR: '1', CUA_MODEL_NAME: 'scripted/demo', ...env }),
    /MCP endpoint: (http:\/\/\S+)\/mcp/,
    'server',
    timeoutMs,
    via,
  );
  return { proc: p.proc, url: `${p.match[1]}/mcp`, base: p.match[1], output: p.output, exited: p.exited, stop: p.stop };
}
