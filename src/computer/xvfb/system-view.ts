import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

/** The desktop's own user and host, the same in every computer: nothing of the host's shows through. */
export const DESKTOP_USER = 'user';
export const DESKTOP_UID = 1000;
export const DESKTOP_HOME = '/home/user';
export const DESKTOP_HOSTNAME = 'desktop';

/** Program folders, bound read-only; on merged-/usr systems the top-level ones are symlinks into /usr. */
const PROGRAM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * What desktop programs need of /etc, and nothing else: no host users, groups or passwords, no
 * package-manager or tool credentials (npmrc, pip.conf, gitconfig …), no service configuration,
 * and nothing mounted below /etc by an operator (the chart's secrets, for one). An entry that does
 * not exist on this machine is skipped.
 */
export const ETC_ALLOWLIST: readonly string[] = [
  // the loader and the system's alternatives (x-terminal-emulator, x-www-browser …)
  'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'alternatives',
  // fonts, certificates, X, toolkits and desktop defaults
  'fonts', 'ssl', 'ca-certificates', 'X11', 'xdg', 'gtk-2.0', 'gtk-3.0', 'pango', 'dconf', 'glvnd', 'drirc',
  // applications' system-wide settings
  'firefox-esr', 'chromium', 'chromium.d', 'libreoffice', 'vim', 'nanorc', 'ImageMagick-6', 'ghostscript', 'papersize', 'libpaper.d',
  // file types
  'mime.types', 'mailcap', 'mailcap.order', 'magic', 'magic.mime',
  // time, locale, shells and terminals
  'localtime', 'timezone', 'locale.alias', 'profile', 'profile.d', 'bash.bashrc', 'inputrc', 'shells', 'terminfo',
  // name lookup tables that hold no secrets (resolv.conf only with a network, see systemMounts)
  'protocols', 'services', 'host.conf', 'gai.conf', 'networks',
  // what system this is
  'os-release', 'debian_version', 'lsb-release',
];

/** Read-only extras outside /etc that desktop programs use when present. */
const VAR_ALLOWLIST = ['/var/cache/fontconfig', '/var/lib/openbox'];

/** Files the sandbox gets in place of the host's: written once per computer, bound read-only. */
export const GENERATED_ETC = ['passwd', 'group', 'hosts', 'hostname', 'nsswitch.conf', 'machine-id'] as const;

/** Every host path a desktop sandbox may see read-only (for checks such as the chart test's). */
export function visibleSystemPaths(): string[] {
  return [...PROGRAM_DIRS, ...ETC_ALLOWLIST.map((e) => `/etc/${e}`), ...VAR_ALLOWLIST];
}

function bindOrLink(path: string, out: string[]) {
  if (!existsSync(path)) return;
  if (lstatSync(path).isSymbolicLink() && PROGRAM_DIRS.includes(path)) out.push('--symlink', readlinkSync(path), path);
  else out.push('--ro-bind', path, path);
}

/** bwrap arguments for the program folders alone. */
export function programMounts(): string[] {
  const args: string[] = [];
  for (const dir of PROGRAM_DIRS) bindOrLink(dir, args);
  return args;
}

/**
 * bwrap arguments for the sandbox's system view: the program folders, the allowed part of /etc,
 * the computer's own identity files and its desktop profile's files (`extraEtc`, relative to
 * /etc; all from `etcDir`, see writeIdentity) and, with a network, the resolver configuration
 * `resolvConf` (the host's, or the computer's own in egress mode) at /etc/resolv.conf. Computed
 * once per computer.
 */
export function systemMounts(etcDir: string, resolvConf: string | undefined, extraEtc: readonly string[] = []): string[] {
  const args = programMounts();
  for (const entry of ETC_ALLOWLIST) bindOrLink(`/etc/${entry}`, args);
  if (resolvConf && existsSync(resolvConf)) args.push('--ro-bind', resolvConf, '/etc/resolv.conf');
  for (const name of [...GENERATED_ETC, ...extraEtc]) args.push('--ro-bind', join(etcDir, name), `/etc/${name}`);
  for (const dir of VAR_ALLOWLIST) args.push('--ro-bind-try', dir, dir);
  return args;
}

/**
 * Writes the computer's own /etc files into `etcDir` (created, 0755, owned by the server): one
 * desktop user `user` (uid 1000) at /home/user, host name `desktop`, name lookup from these files
 * only, and a random machine id; plus `extra` files (path relative to /etc → contents).
 */
export async function writeIdentity(etcDir: string, extra: Readonly<Record<string, string>> = {}): Promise<void> {
  await mkdir(etcDir, { mode: 0o755 });
  await chmod(etcDir, 0o755);
  const u = DESKTOP_UID;
  const files: Record<(typeof GENERATED_ETC)[number], string> = {
    passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\n${DESKTOP_USER}:x:${u}:${u}:Desktop user:${DESKTOP_HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    group: `root:x:0:\n${DESKTOP_USER}:x:${u}:\nnogroup:x:65534:\n`,
    hosts: `127.0.0.1\tlocalhost\n127.0.1.1\t${DESKTOP_HOSTNAME}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    hostname: `${DESKTOP_HOSTNAME}\n`,
    'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
    'machine-id': `${randomBytes(16).toString('hex')}\n`,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(etcDir, name), text, { mode: 0o644 });
  for (const [rel, text] of Object.entries(extra)) {
    if (rel.startsWith('/') || rel.split('/').includes('..')) throw new Error(`a desktop file path must stay below /etc: ${rel}`);
    await mkdir(dirname(join(etcDir, rel)), { recursive: true, mode: 0o755 });
    await writeFile(join(etcDir, rel), text, { mode: 0o644 });
  }
}
