import { ChildProcess } from 'node:child_process';
import { childEnv, MAIN, spawnServer, startNode } from './server-process';

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
  const env = childEnv({ LOG_LEVEL: 'info', NO_COLOR: '1', COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', SCREEN_WIDTH: '800', SCREEN_HEIGHT: '600', ...options.env }, ['COMPUTER_SERVER_API_KEY']);
  if (options.apiKey) env.COMPUTER_SERVER_API_KEY = options.apiKey;
  const p = await startNode(
    [ENTRY, 'computer-server', '--host', '127.0.0.1', '--port', String(options.port ?? 0)],
    env,
    /Computer server: (http:\/\/127\.0\.0\.1:(\d+))/,
    'computer-server',
    30_000,
  );
  return { proc: p.proc, url: p.match[1], port: Number(p.match[2]), output: p.output, exited: p.exited, stop: () => p.stop(10_000) };
}

export interface MainProcess {
  proc: ChildProcess;
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts the MCP server (ENTRY) on a free loopback port and waits until it listens (at most 30 s). */
export async function spawnMain(env: Record<string, string>): Promise<MainProcess> {
  const p = await spawnServer(env, ENTRY, 30_000);
  return { proc: p.proc, url: p.url, output: p.output, stop: () => p.stop(15_000) };
}
