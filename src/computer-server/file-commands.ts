import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Computer, ProgramResult } from '../computer/computer.module';
import { CuaCommandOfGroup, CuaResults, CuaValuesOf } from '../cua-protocol';

export type FileCommand = CuaCommandOfGroup<'files'>;

const FILE_TIMEOUT_MS = 30_000;
/** Largest file content one reply carries: base64 (4/3) or escaped text must stay under the 10 MiB message cap. */
export const MAX_READ_BYTES = 7 * 1024 * 1024;

/**
 * One small POSIX shell script does every file operation inside the desktop's sandbox, as the
 * desktop's user: `sh -c SCRIPT sh OP PATH [OFFSET LENGTH]`. Paths arrive as arguments (never
 * pasted into shell code); `~` and `~/...` mean the user's home, and relative paths start there.
 */
const SCRIPT = [
  'op=$1; p=$2',
  'case $p in "~") p=$HOME ;; "~/"*) p=$HOME/${p#"~/"} ;; esac',
  'fail() { printf "%s\\n" "$1" >&2; exit 2; }',
  'need_file() { [ -e "$p" ] || fail "No such file: $2"; [ -d "$p" ] && fail "Is a directory: $2"; [ -r "$p" ] || fail "Permission denied: $2"; }',
  'case $op in',
  '  file_exists) if [ -f "$p" ]; then echo true; else echo false; fi ;;',
  '  directory_exists) if [ -d "$p" ]; then echo true; else echo false; fi ;;',
  '  list_dir) [ -d "$p" ] || fail "Not a directory: $2"; [ -r "$p" ] && [ -x "$p" ] || fail "Permission denied: $2"; find "$p" -mindepth 1 -maxdepth 1 -printf "%f\\0" ;;',
  '  read) need_file "$p" "$2"; if [ -n "$4" ]; then tail -c "+$(( $3 + 1 ))" -- "$p" | head -c "$4"; else tail -c "+$(( $3 + 1 ))" -- "$p"; fi ;;',
  '  write) [ -d "$p" ] && fail "Is a directory: $2"; cat > "$p" ;;',
  '  append) [ -d "$p" ] && fail "Is a directory: $2"; cat >> "$p" ;;',
  '  size) need_file "$p" "$2"; stat -c %s -- "$p" ;;',
  '  delete_file) [ -d "$p" ] && fail "Is a directory: $2"; rm -- "$p" ;;',
  '  create_dir) mkdir -p -- "$p" ;;',
  '  delete_dir) [ -d "$p" ] || fail "Not a directory: $2"; rmdir -- "$p" ;;',
  '  *) fail "unknown operation $op" ;;',
  'esac',
].join('\n');

const invalid = (msg: string) => new DomainError(DomainErrorCode.INVALID_ARGUMENT, msg);

type FileHandlers = { [C in FileCommand]: (c: Computer, v: CuaValuesOf<C>, signal: AbortSignal) => Promise<CuaResults[C]> };

/** The file commands of the protocol, carried out inside the desktop's sandbox (never on the host). */
@Injectable()
export class FileCommands {
  /** One handler per file command, with params its schema has already checked. */
  readonly handlers: FileHandlers = {
    file_exists: async (c, v, signal) => ({ exists: await this.test(c, 'file_exists', v.path, signal) }),
    directory_exists: async (c, v, signal) => ({ exists: await this.test(c, 'directory_exists', v.path, signal) }),
    list_dir: async (c, v, signal) => {
      const r = await sh(c, 'list_dir', 'list_dir', v.path, signal, { outputLimitBytes: MAX_READ_BYTES });
      if (r.truncated) throw invalid(`list_dir: the folder has more names than fit in one reply (${MAX_READ_BYTES} bytes); list it with run_command.`);
      return { files: r.stdout.toString('utf8').split('\0').filter(Boolean).sort() };
    },
    read_text: async (c, v, signal) => ({ content: (await read(c, 'read_text', v.path, 0, null, signal)).toString('utf8') }),
    read_bytes: async (c, v, signal) => ({ content_b64: (await read(c, 'read_bytes', v.path, v.offset, v.length, signal)).toString('base64') }),
    write_text: async (c, v, signal) => {
      await sh(c, 'write_text', 'write', v.path, signal, { stdin: Buffer.from(v.content, 'utf8') });
      return {};
    },
    write_bytes: async (c, v, signal) => {
      await sh(c, 'write_bytes', v.append ? 'append' : 'write', v.path, signal, { stdin: Buffer.from(v.content_b64, 'base64') });
      return {};
    },
    get_file_size: async (c, v, signal) => ({ size: Number((await sh(c, 'get_file_size', 'size', v.path, signal)).stdout.toString('utf8').trim()) }),
    delete_file: async (c, v, signal) => {
      await sh(c, 'delete_file', 'delete_file', v.path, signal);
      return {};
    },
    create_dir: async (c, v, signal) => {
      await sh(c, 'create_dir', 'create_dir', v.path, signal);
      return {};
    },
    delete_dir: async (c, v, signal) => {
      await sh(c, 'delete_dir', 'delete_dir', v.path, signal);
      return {};
    },
  };

  private async test(c: Computer, name: 'file_exists' | 'directory_exists', path: string, signal: AbortSignal): Promise<boolean> {
    return (await sh(c, name, name, path, signal)).stdout.toString('utf8').trim() === 'true';
  }
}

/** Runs one operation of SCRIPT on `path`; a failure is an error naming the command and why. */
async function sh(
  c: Computer,
  name: FileCommand,
  op: string,
  path: string,
  signal: AbortSignal,
  o: { extra?: string[]; stdin?: Buffer; outputLimitBytes?: number } = {},
): Promise<ProgramResult> {
  if (!c.supports('runProgram')) throw new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `${name} is not supported by this server's desktop (provider ${c.provider}).`);
  const r = await c.runProgram(['/bin/sh', '-c', SCRIPT, 'sh', op, path, ...(o.extra ?? [])], { stdin: o.stdin, timeoutMs: FILE_TIMEOUT_MS, outputLimitBytes: o.outputLimitBytes, signal });
  if (r.timedOut) throw new DomainError(DomainErrorCode.TIMEOUT, `${name} did not finish within ${FILE_TIMEOUT_MS / 1000} s.`);
  if (r.exitCode !== 0) {
    const why = r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`;
    throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `${name} failed: ${why}`);
  }
  return r;
}

/** A file's bytes from `offset`, `length` of them (null: to the end), at most MAX_READ_BYTES. */
async function read(c: Computer, name: FileCommand, path: string, offset: number, length: number | null, signal: AbortSignal): Promise<Buffer> {
  const r = await sh(c, name, 'read', path, signal, { extra: [String(offset), length === null ? '' : String(length)], outputLimitBytes: MAX_READ_BYTES });
  if (r.truncated) throw invalid(`${name}: the content is larger than ${MAX_READ_BYTES} bytes; read it in parts with read_bytes(path, offset, length).`);
  return r.stdout;
}
