import { readdirSync, readFileSync } from 'node:fs';

/** Pids of running processes whose command name is `name` (read from /proc, no procps needed). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ..." — zombies (state Z) are gone for our purposes.
      const m = /^\d+ \((.*)\) (\S)/.exec(stat);
      if (m && m[1] === name && m[2] !== 'Z') pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export const xvfbPids = () => pidsNamed('Xvfb');
