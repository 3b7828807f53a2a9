import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Computer, ProgramResult } from '../computer/computer.module';

export const FILE_COMMANDS = [
  'file_exists', 'directory_exists', 'list_dir', 'read_text', 'write_text', 'read_bytes', 'write_bytes',
  'get_file_size', 'delete_file', 'create_dir', 'delete_dir',
] as const;
export type FileCommand = (typeof FILE_COMMANDS)[number];

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

/** The file commands of the protocol, carried out inside the desktop's sandbox (never on the host). */
@Injectable()
export class FileCommands {
  async run(c: Computer, name: FileCommand, v: Record<string, unknown>, signal: AbortSignal): Promise<object> {
    const path = v.path as string;
    if (path === '' || path.includes('\0')) throw invalid(`${name} needs a path (no NUL characters).`);
    const sh = async (op: string, extra: string[] = [], stdin?: Buffer, outputLimitBytes?: number): Promise<ProgramResult> => {
      if (!c.runProgram) throw new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `${name} is not supported by this server's desktop (provider ${c.provider}).`);
      const r = await c.runProgram(['/bin/sh', '-c', SCRIPT, 'sh', op, path, ...extra], { stdin, timeoutMs: FILE_TIMEOUT_MS, outputLimitBytes, signal });
      if (r.timedOut) throw new DomainError(DomainErrorCode.TIMEOUT, `${name} did not finish within ${FILE_TIMEOUT_MS / 1000} s.`);
      if (r.exitCode !== 0) {
        const why = r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`;
        throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `${name} failed: ${why}`);
      }
      return r;
    };
    const read = async (offset: number, length: number | undefined) => {
      if (offset < 0) throw invalid('offset must be 0 or more.');
      if (length !== undefined && length < 0) throw invalid('length must be 0 or more.');
      const r = await sh('read', [String(offset), length === undefined ? '' : String(length)], undefined, MAX_READ_BYTES);
      if (r.truncated) throw invalid(`${name}: the content is larger than ${MAX_READ_BYTES} bytes; read it in parts with read_bytes(path, offset, length).`);
      return r.stdout;
    };
    switch (name) {
      case 'file_exists':
      case 'directory_exists':
        return { exists: (await sh(name)).stdout.toString('utf8').trim() === 'true' };
      case 'list_dir': {
        const r = await sh('list_dir', [], undefined, MAX_READ_BYTES);
        if (r.truncated) throw invalid(`list_dir: the folder has more names than fit in one reply (${MAX_READ_BYTES} bytes); list it with run_command.`);
        return { files: r.stdout.toString('utf8').split('\0').filter(Boolean).sort() };
      }
      case 'read_text':
        return { content: (await read(0, undefined)).toString('utf8') };
      case 'read_bytes':
        return { content_b64: (await read(v.offset as number, v.length as number | undefined)).toString('base64') };
      case 'write_text':
        await sh('write', [], Buffer.from(v.content as string, 'utf8'));
        return {};
      case 'write_bytes': {
        const b64 = v.content_b64 as string;
        if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(b64)) throw invalid('write_bytes: content_b64 must be base64.');
        await sh(v.append ? 'append' : 'write', [], Buffer.from(b64, 'base64'));
        return {};
      }
      case 'get_file_size':
        return { size: Number((await sh('size')).stdout.toString('utf8').trim()) };
      case 'delete_file':
      case 'create_dir':
      case 'delete_dir':
        await sh(name);
        return {};
    }
  }
}
