import { existsSync, readdirSync, readFileSync } from 'node:fs';

function parentOf(pid: number): number | undefined {
  try {
    const m = /^\d+ \(.*\) \S (\d+)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** True when `ancestor` started `pid`, directly or through processes in between (a sandbox's bwrap). */
export function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = parentOf(pid), hops = 0; p !== undefined && p > 1 && hops < 16; p = parentOf(p), hops++) {
    if (p === ancestor) return true;
  }
  return false;
}

/**
 * Pids of running processes whose command name is `name` (read from /proc, no procps needed); with
 * `ancestor`, only those that process started (directly or through a sandbox) — so a test never
 * takes another suite's process (Jest runs suites in parallel) for its own.
 */
export function pidsNamed(name: string, ancestor?: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ..." — zombies (state Z) are gone for our purposes.
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && m[1] === name && m[2] !== 'Z' && (ancestor === undefined || descendsFrom(Number(entry), ancestor))) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The Xvfb processes `parent` started (default: this test process, where startApp runs the app), sandboxed or not. */
export const xvfbPids = (parent = process.pid) => pidsNamed('Xvfb', parent);
/** True while the process exists (zombies included). */
export const alive = (pid: number) => existsSync(`/proc/${pid}`);
