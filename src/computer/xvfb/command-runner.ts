import { Readable } from 'node:stream';
import { CommandResult } from '../computer.port';
import { Sandbox } from './sandbox';

export interface RunOptions {
  timeoutMs: number;
  outputLimitBytes: number;
  signal?: AbortSignal;
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

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Runs `/bin/sh -c command` in the computer's sandbox. On timeout or abort the whole sandbox
 * (its PID namespace, so every process the command started) is killed and exitCode is null.
 */
export async function runSandboxedCommand(sandbox: Sandbox, command: string, o: RunOptions): Promise<CommandResult> {
  const proc = sandbox.spawn('command', ['/bin/sh', '-c', command], { pipeOutput: true });
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
    stdout: stdout.text(),
    stderr: err,
    exitCode: killed ? null : status.code,
    timedOut,
    truncated: stdout.truncated || stderr.truncated,
  };
}
