import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Pids of running processes whose command name is `name` (read from /proc, no procps needed); with
 * `parent`, only that process's children — so a test never takes another suite's process (Jest runs
 * suites in parallel) for its own.
 */
export function pidsNamed(name: string, parent?: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ..." — zombies (state Z) are gone for our purposes.
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && m[1] === name && m[2] !== 'Z' && (parent === undefined || Number(m[3]) === parent)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The Xvfb processes `parent` started (default: this test process, where startApp runs the app). */
export const xvfbPids = (parent = process.pid) => pidsNamed('Xvfb', parent);
/** True while the process exists (zombies included). */
export const alive = (pid: number) => existsSync(`/proc/${pid}`);
