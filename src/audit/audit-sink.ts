import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../common/domain-error';

/**
 * Where audit lines go (port): each `write` gets one whole JSON line (without its newline) and either writes it
 * or throws; lines are written in the order they come. `close` lets go of what it holds (idempotent).
 */
export abstract class AuditSink {
  abstract write(line: string): void;
  abstract close(): void;
  /** Where the lines go, for the start-up log. */
  abstract readonly describe: string;
}

/** AUDIT_LOG=stdout: a line per write on a stream (stdout; stderr in stdio mode, where stdout carries MCP). */
export class StreamAuditSink extends AuditSink {
  constructor(
    private readonly stream: Pick<NodeJS.WriteStream, 'write'>,
    readonly describe: string,
  ) {
    super();
  }

  write(line: string): void {
    this.stream.write(`${line}\n`);
  }

  close(): void {}
}

/**
 * AUDIT_LOG=<file>: appends lines to the file, rotating it by size. A line that would take the file past
 * `maxBytes` first rotates it: `<file>.N-1` → `<file>.N` … `<file>` → `<file>.1`, `<file>.keep` deleted, a fresh
 * `<file>` opened; a line is never split across files (a line longer than `maxBytes` gets a file of its own).
 *
 * Writes are synchronous (`writeSync` of one line to the page cache: microseconds next to any tool call): lines keep
 * their order, rotation needs no queue, and none is lost in a buffer when the process dies. The file is 0600 and a
 * folder it creates 0700: the trail names principals and keeps commands. One process per file: replicas each need
 * their own path.
 */
export class RotatingFileAuditSink extends AuditSink {
  private fd?: number;
  private size = 0;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    super();
  }

  get describe(): string {
    return `${this.path} (rotated at ${this.maxBytes} bytes, ${this.keep} kept)`;
  }

  /** Opens (or creates) the file to append to; throws, naming the file and why, when it cannot. */
  open(): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      this.fd = openSync(this.path, 'a', 0o600);
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      throw new Error(`AUDIT_LOG ${this.path}: cannot open the audit file (${errorMessage(e)}); give the server a folder it may write, or set AUDIT_LOG=stdout.`);
    }
  }

  write(line: string): void {
    if (this.closed) throw new Error('the audit file is closed (the server is stopping)');
    const data = Buffer.from(`${line}\n`, 'utf8');
    if (this.fd === undefined) this.open();
    if (this.size > 0 && this.size + data.length > this.maxBytes) this.rotate();
    let written = 0;
    while (written < data.length) written += writeSync(this.fd!, data, written);
    this.size += data.length;
  }

  close(): void {
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** `<file>` → `<file>.1` → … → `<file>.keep` (the oldest deleted), then a fresh `<file>`. */
  private rotate(): void {
    closeSync(this.fd!);
    this.fd = undefined;
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    renameSync(this.path, `${this.path}.1`);
    this.open();
  }
}
