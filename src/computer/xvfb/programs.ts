import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The programs the xvfb provider runs, with the Debian package that ships each one. */
export const REQUIRED_PROGRAMS = {
  Xvfb: 'xvfb',
  openbox: 'openbox',
  xterm: 'xterm',
  bwrap: 'bubblewrap',
  prlimit: 'util-linux',
  choom: 'util-linux',
} as const;
export type RequiredProgram = keyof typeof REQUIRED_PROGRAMS;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Absolute path of an executable found on PATH (plus the usual system folders), or undefined. */
export function findProgram(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const dirs = [...pathEnv.split(delimiter), ...DEFAULT_PATH.split(':')].filter(Boolean);
  for (const dir of new Set(dirs)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export type ProgramPaths = Record<RequiredProgram, string> & { setpriv?: string };

/** Resolves every required program; `missing` lists those not found. */
export function locatePrograms(): { paths: Partial<ProgramPaths>; missing: RequiredProgram[] } {
  const paths: Partial<ProgramPaths> = {};
  const missing: RequiredProgram[] = [];
  for (const name of Object.keys(REQUIRED_PROGRAMS) as RequiredProgram[]) {
    const p = findProgram(name);
    if (p) paths[name] = p;
    else missing.push(name);
  }
  // util-linux's setpriv: needed by a root server, to run computers as their own unprivileged users.
  paths.setpriv = findProgram('setpriv');
  return { paths, missing };
}
