import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export const RUN = '/tmp/lvr/run';
mkdirSync(RUN, { recursive: true });

export function xauth(path) {
  const c = (b) => { const l = Buffer.alloc(2); l.writeUInt16BE(b.length); return Buffer.concat([l, b]); };
  const cookie = randomBytes(16);
  writeFileSync(path, Buffer.concat([Buffer.from([0xff, 0xff]), c(Buffer.alloc(0)), c(Buffer.alloc(0)), c(Buffer.from('MIT-MAGIC-COOKIE-1')), c(cookie)]), { mode: 0o600 });
  return cookie;
}

const FONT = ['built-ins', ...['/usr/share/fonts/X11/misc'].filter(existsSync)].join(',');
/** Like src/computer/xvfb/xvfb-server.ts xvfbLine: bwrap, uid 1000 in a user ns, host net ns (abstract socket), tmpfs /tmp + the X socket dir. */
export function sandboxed(argv, authFile, extraBind) {
  const b = ['bwrap', '--unshare-all', '--share-net', '--unshare-user', '--uid', '1000', '--gid', '1000', '--hostname', 'desktop',
    '--as-pid-1', '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
    ...['/etc/fonts', '/etc/X11', '/etc/ld.so.cache'].flatMap((p) => ['--ro-bind-try', p, p]),
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--bind', '/tmp/.X11-unix', '/tmp/.X11-unix',
    '--ro-bind', authFile, '/run/cua/Xauthority',
    ...(extraBind ? ['--bind', extraBind, '/run/cua/vnc'] : []),
    '--remount-ro', '/', '--'];
  return [...b, ...argv];
}

export function xArgs(kind, vncSock) {
  const common = ['-nolisten', 'tcp', '-auth', '/run/cua/Xauthority', '-fp', FONT, '-noreset', '-displayfd', '3'];
  if (kind === 'Xvfb') return ['/usr/bin/Xvfb', '-screen', '0', '1280x800x24', ...common];
  return ['/usr/bin/Xtigervnc', '-geometry', '1280x800', '-depth', '24', ...common,
    '-rfbunixpath', vncSock, '-rfbunixmode', '0600', '-rfbport', '-1', '-SecurityTypes', 'None', '-AlwaysShared', '-AllowOverride', '', '-desktop', 'desktop'];
}

/** Starts an X server; resolves { proc, display, readyMs } when -displayfd reports. */
export function startX(argv) {
  const t0 = performance.now();
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    let txt = '';
    proc.stdio[3].on('data', (d) => {
      txt += d;
      if (txt.includes('\n')) resolve({ proc, display: Number(txt.trim()), readyMs: performance.now() - t0, t0, err: () => err });
    });
    proc.on('exit', (c, s) => reject(new Error(`exit ${c} ${s}: ${err}`)));
  });
}

/** Polls until the unix socket answers with an RFB banner. */
export async function waitRfb(path, t0, timeoutMs = 5000) {
  for (;;) {
    const ok = await new Promise((res) => {
      const s = net.createConnection(path);
      s.once('data', (d) => { s.destroy(); res(d.toString().startsWith('RFB')); });
      s.once('error', () => res(false));
    });
    if (ok) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error('no RFB on ' + path);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function stopProc(proc, sig = 'SIGTERM') {
  return new Promise((res) => { if (proc.exitCode !== null || proc.signalCode) return res(); proc.once('exit', res); proc.kill(sig); });
}

export function cpuTicks(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}
export function smaps(pid) {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const g = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN);
  return { rss: g('Rss'), pss: g('Pss'), privDirty: g('Private_Dirty') };
}
/** Host pid of the program bwrap runs (its only child). */
export function childOf(pid) {
  const c = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return c[0];
}
export const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
import { execFileSync } from 'node:child_process';
/** Waits until a window of `cls` is mapped (xdotool --sync), at most 15 s. */
export function waitWindow(env, cls = 'xterm') {
  execFileSync('timeout', ['15', 'xdotool', 'search', '--sync', '--onlyvisible', '--class', cls], { env, stdio: 'ignore' });
}
/** openbox + xterm, the terminal only once the window manager runs (a MapRequest sent while openbox starts can be lost). */
export async function desktop(env, xtermArgs = ['-geometry', '80x24+0+0']) {
  const wm = spawn('openbox', [], { env, stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try { if (/window id/.test(execFileSync('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'], { env, stdio: ['ignore', 'pipe', 'ignore'] }).toString())) break; } catch {}
    if (i > 300) throw new Error('openbox did not start');
    await sleep(20);
  }
  const term = spawn('xterm', xtermArgs, { env, stdio: 'ignore' });
  waitWindow(env);
  return [wm, term];
}
