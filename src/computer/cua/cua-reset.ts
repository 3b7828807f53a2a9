import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { CuaComputer } from './cua-computer';

/**
 * What a remote desktop looked like when a lease began, kept here (never on the remote, where
 * the session could change it): the top-level windows and the entries under the scratch folders.
 */
export interface CuaBaseline {
  /** Client window ids (hex, from _NET_CLIENT_LIST); undefined when xprop is missing there. */
  windows?: Set<string>;
  /** Absolute paths under the scratch folders; undefined when the listing failed or was too long. */
  files?: Set<string>;
  home?: string;
}

/** What a reset did, for the logs. */
export interface CuaResetReport {
  windowsClosed: number;
  pathsRemoved: number;
  notes: string[];
}

/** Beyond this many entries under the scratch folders the file part of the reset is skipped (and logged). */
export const MAX_BASELINE_ENTRIES = 20_000;
/** The window manager's list of client windows (EWMH _NET_CLIENT_LIST): application windows only, not frames or menus. */
const LIST_WINDOWS = "command -v xprop >/dev/null 2>&1 || { echo 'no-xprop'; exit 0; }; xprop -root _NET_CLIENT_LIST 2>/dev/null | grep -o '0x[0-9a-fA-F]*'; exit 0";
/**
 * The home folder (first line), then every entry under it and under /tmp, NUL-separated, on one
 * file system. Hidden entries at the top of either are skipped: the settings of the desktop's
 * programs in the home, and the X server's sockets and locks (.X11-unix, .X0-lock …) in /tmp.
 */
const LIST_FILES =
  `printf '%s\\n' "$HOME"; find "$HOME" /tmp -xdev -mindepth 1 \\( -path "$HOME/.*" -o -path '/tmp/.*' \\) -prune -o -print0 2>/dev/null | head -c 8000000; exit 0`;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function runFull(computer: CuaComputer, command: string, timeoutMs: number) {
  const r = await computer.runCommand(command, { timeoutMs });
  if (r.timedOut || r.exitCode !== 0) {
    throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `the reset step failed (exit ${r.exitCode ?? 'none'}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim().slice(0, 300)}`);
  }
  return r;
}
async function run(computer: CuaComputer, command: string, timeoutMs: number): Promise<string> {
  return (await runFull(computer, command, timeoutMs)).stdout;
}

async function listWindows(computer: CuaComputer, timeoutMs: number): Promise<Set<string> | undefined> {
  const out = await run(computer, LIST_WINDOWS, timeoutMs);
  if (out.startsWith('no-xprop')) return undefined;
  return new Set(out.split('\n').filter((l) => /^0x[0-9a-f]+$/i.test(l)));
}

async function listFiles(computer: CuaComputer, timeoutMs: number): Promise<{ home: string; files?: Set<string> }> {
  const r = await runFull(computer, LIST_FILES, timeoutMs);
  const out = r.stdout;
  const nl = out.indexOf('\n');
  const home = out.slice(0, nl);
  const entries = out.slice(nl + 1).split('\0').filter(Boolean);
  if (!home.startsWith('/') || r.truncated || entries.length > MAX_BASELINE_ENTRIES) return { home };
  return { home, files: new Set(entries) };
}

/** Records the baseline at the start of a lease. A server without run_command gives an empty one. */
export async function recordBaseline(computer: CuaComputer, timeoutMs: number): Promise<CuaBaseline> {
  const windows = await listWindows(computer, timeoutMs);
  const { home, files } = await listFiles(computer, timeoutMs);
  return { windows, files, home };
}

/** Entries of `now` not in `before`, without those inside another new folder (removing the folder removes them). */
export function newTopLevelPaths(before: ReadonlySet<string>, now: Iterable<string>, home: string): string[] {
  const fresh = [...now].filter((p) => !before.has(p)).sort();
  const roots = [`${home.replace(/\/+$/, '')}/`, '/tmp/'];
  const out: string[] = [];
  for (const p of fresh) {
    // Only inside the scratch folders, only plain absolute paths.
    const root = roots.find((r) => p.startsWith(r));
    if (!root || p.includes('/../') || p.endsWith('/..') || p.includes('\n') || p.startsWith('.', root.length)) continue;
    if (out.length && p.startsWith(out[out.length - 1] + '/')) continue;
    out.push(p);
  }
  return out;
}

/**
 * The default reset: closes (kills the owner of) every application window that appeared during the lease
 * (`closeWindows`), and removes every file and folder that appeared under the home folder and
 * /tmp (outside their hidden top-level entries). Throws when a step fails.
 */
export async function defaultReset(computer: CuaComputer, baseline: CuaBaseline, timeoutMs: number, closeWindows = true): Promise<CuaResetReport> {
  const report: CuaResetReport = { windowsClosed: 0, pathsRemoved: 0, notes: [] };
  if (closeWindows && baseline.windows) {
    const now = await listWindows(computer, timeoutMs);
    const extra = [...(now ?? [])].filter((w) => !baseline.windows!.has(w));
    if (extra.length) {
      // XKillClient on each: the program that owns the window goes (xdotool, or xkill from x11-utils).
      await run(computer, extra.map((w) => `{ xdotool windowkill ${w} || xkill -id ${w}; } >/dev/null 2>&1`).join('; ') + '; exit 0', timeoutMs);
      report.windowsClosed = extra.length;
    }
  } else if (closeWindows) {
    report.notes.push('windows not closed (no xprop on the remote computer)');
  }
  if (baseline.files && baseline.home) {
    const { files } = await listFiles(computer, timeoutMs);
    if (!files) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `more than ${MAX_BASELINE_ENTRIES} entries under the scratch folders; cannot tell what the session made`);
    const paths = newTopLevelPaths(baseline.files, files, baseline.home);
    // In chunks, so no command line gets too long.
    for (let i = 0; i < paths.length; i += 200) {
      await run(computer, `rm -rf -- ${paths.slice(i, i + 200).map(quote).join(' ')}`, timeoutMs);
    }
    report.pathsRemoved = paths.length;
  } else {
    report.notes.push('files not cleaned (no listing of the scratch folders at lease start)');
  }
  return report;
}

/** CUA_RESET_COMMAND: the operator's own reset, run with run_command; it must exit 0. */
export async function commandReset(computer: CuaComputer, command: string, timeoutMs: number): Promise<CuaResetReport> {
  await run(computer, command, timeoutMs);
  return { windowsClosed: 0, pathsRemoved: 0, notes: ['CUA_RESET_COMMAND'] };
}
