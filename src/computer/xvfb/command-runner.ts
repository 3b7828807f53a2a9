import { Readable } from 'node:stream';
import { CommandResult, ProgramResult } from '../computer.port';
import { Sandbox } from './sandbox';

export interface RunOptions {
  timeoutMs: number;
  outputLimitBytes: number;
  signal?: AbortSignal;
  /** Bytes for the program's stdin (closed after them); none: stdin reads nothing. */
  stdin?: Buffer;
}

/** Collects a stream up to `limit` bytes and keeps draining (and dropping) the rest. */
class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(
    stream: Readable | null,
    private readonly limit: number,
  ) {
    stream?.on('data', (chunk: Buffer) => this.add(chunk));
    stream?.on('error', () => undefined);
  }

  private add(chunk: Buffer) {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.truncated ||= chunk.length > 0;
      return;
    }
    if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room));
      this.size += room;
      this.truncated = true;
    } else {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.bytes().toString('utf8');
  }
}

/**
 * Runs `/bin/sh -c command` in the computer's sandbox. On timeout or abort the whole sandbox
 * (its PID namespace, so every process the command started) is killed and exitCode is null.
 */
export async function runSandboxedCommand(sandbox: Sandbox, command: string, o: RunOptions): Promise<CommandResult> {
  const r = await runSandboxedProgram(sandbox, ['/bin/sh', '-c', command], o);
  return { ...r, stdout: r.stdout.toString('utf8') };
}

/** Runs `argv` in the computer's sandbox (no shell), feeding it `o.stdin`; stdout comes back as bytes. */
export async function runSandboxedProgram(sandbox: Sandbox, argv: readonly string[], o: RunOptions): Promise<ProgramResult> {
  const proc = sandbox.spawn('command', argv, { pipeOutput: true, pipeStdin: o.stdin !== undefined });
  const stdin = proc.process.child.stdin;
  if (stdin) {
    // The program may exit without reading everything (EPIPE): that is its answer, not our failure.
    stdin.on('error', () => undefined);
    stdin.end(o.stdin);
  }
  const stdout = new CappedOutput(proc.process.child.stdout, o.outputLimitBytes);
  const stderr = new CappedOutput(proc.process.child.stderr, o.outputLimitBytes);
  let timedOut = false;
  let cancelled = false;
  const kill = () => void proc.kill();
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, o.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    kill();
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });

  // 'close' fires once the process exited and both output pipes are drained.
  const closed = new Promise<void>((resolve) => {
    proc.process.child.once('close', () => resolve());
    proc.process.child.once('error', () => resolve());
  });
  const status = await proc.process.exited;
  await closed;
  clearTimeout(timer);
  o.signal?.removeEventListener('abort', onAbort);

  let err = stderr.text();
  if (status.error) err += `Could not start the sandbox: ${status.error.message}\n`;
  if (cancelled && !timedOut) err += 'The command was cancelled.\n';
  const killed = timedOut || cancelled || status.signal !== null || status.error !== undefined;
  return {
    stdout: stdout.bytes(),
    stderr: err,
    exitCode: killed ? null : status.code,
    timedOut,
    truncated: stdout.truncated || stderr.truncated,
  };
}
