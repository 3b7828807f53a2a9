import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The programs the xvfb provider itself runs, with the Debian package that ships each one (a desktop profile adds its own). */
export const REQUIRED_PROGRAMS = {
  Xvfb: 'xvfb',
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

export type ProgramPaths = Record<RequiredProgram, string> & {
  setpriv?: string;
  /** TigerVNC's x0vncserver (tigervnc-scraping-server): the live view's VNC server; without it computers offer no live view. */
  x0vncserver?: string;
  /** util-linux nsenter: lets x0vncserver share memory with its X server (without it, it reads the screen over the socket). */
  nsenter?: string;
};

/** Resolves every required program; `missing` lists those not found (and which of `more` are not found). */
export function locatePrograms(more: Readonly<Record<string, string>> = {}): { paths: Partial<ProgramPaths>; missing: string[] } {
  const paths: Partial<ProgramPaths> = {};
  const missing: string[] = [];
  for (const name of Object.keys(REQUIRED_PROGRAMS) as RequiredProgram[]) {
    const p = findProgram(name);
    if (p) paths[name] = p;
    else missing.push(name);
  }
  for (const name of Object.keys(more)) if (!(name in REQUIRED_PROGRAMS) && !findProgram(name)) missing.push(name);
  // util-linux's setpriv: needed by a root server, to run computers as their own unprivileged users.
  paths.setpriv = findProgram('setpriv');
  // Debian's x0vncserver is a Perl wrapper that starts X0tigervnc in the background and exits: take the server itself.
  paths.x0vncserver = findProgram('X0tigervnc') ?? findProgram('x0vncserver');
  paths.nsenter = findProgram('nsenter');
  return { paths, missing };
}
