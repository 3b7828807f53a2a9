// CPU and memory: Xtigervnc vs Xvfb + X0tigervnc on demand; idle / moderate / busy screen; 0 or 1 noVNC viewer.
import { spawn } from 'node:child_process';
import { rmSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RUN, xauth, xArgs, startX, waitRfb, stopProc, sleep, cpuTicks, smaps , desktop } from './common.mjs';
import { startViewerServer } from './viewer-server.mjs';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core');
const WIN = Number(process.env.WIN ?? 20) * 1000;
const HZ = 100;

function descendants(root) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { const s = readFileSync(`/proc/${d}/stat`, 'utf8'); const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]); (kids.get(ppid) ?? kids.set(ppid, []).get(ppid)).push(Number(d)); } catch {}
  }
  const out = [root]; for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}
const ticksOf = (pids) => pids.reduce((a, p) => { try { return a + cpuTicks(p); } catch { return a; } }, 0);

async function window(label, procs, vs) {
  const before = Object.fromEntries(Object.entries(procs).map(([k, f]) => [k, ticksOf(f())]));
  const self0 = process.cpuUsage(); const bytes0 = vs?.stats.bytesToClient ?? 0; const t0 = performance.now();
  await sleep(WIN);
  const dt = (performance.now() - t0) / 1000;
  const row = { label };
  for (const [k, f] of Object.entries(procs)) row[k] = (((ticksOf(f()) - before[k]) / HZ / dt) * 100).toFixed(1) + '%';
  if (vs) { const u = process.cpuUsage(self0); row.bridge = (((u.user + u.system) / 1e6 / dt) * 100).toFixed(1) + '%'; row['KB/s'] = ((vs.stats.bytesToClient - bytes0) / 1024 / dt).toFixed(0); }
  console.log(JSON.stringify(row));
  return row;
}

async function run(mode) {
  console.log(`=== ${mode}`);
  const auth = `${RUN}/xa-cpu`; rmSync(auth, { force: true }); xauth(auth);
  const sock = `${RUN}/cpu.sock`; rmSync(sock, { force: true });
  const x = await startX(xArgs(mode === 'Xtigervnc' ? 'Xtigervnc' : 'Xvfb', sock).map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
  const env = { DISPLAY: `:${x.display}`, XAUTHORITY: auth, PATH: '/usr/bin:/bin', HOME: '/tmp' };
  const kids = await desktop(env, ['-geometry', '80x24+10+10']);
  await sleep(3000);
  let x0;
  const attach = async () => { if (x0) return; const t0 = performance.now(); x0 = spawn('X0tigervnc', ['-display', env.DISPLAY, '-rfbunixpath', sock, '-rfbport', '-1', '-SecurityTypes', 'None', '-AlwaysShared'], { env, stdio: 'ignore' }); await waitRfb(sock, t0); };
  const procs = { X: () => [x.proc.pid], ...(mode === 'Xtigervnc' ? {} : { X0tigervnc: () => (x0 ? [x0.pid] : []) }) };
  const mem = (label) => { const m = { label, X: smaps(x.proc.pid) }; if (x0) m.X0tigervnc = smaps(x0.pid); console.log('mem kB', JSON.stringify(m)); };
  mem('idle, no viewer');
  await window('idle, no viewer', procs);
  if (mode !== 'Xtigervnc') { await attach(); await sleep(1000); mem('idle, X0tigervnc attached, no viewer'); await window('idle, X0tigervnc attached, no viewer', procs); }
  if (mode !== 'Xtigervnc') await attach();
  const vs = await startViewerServer({ socketFor: () => sock });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const withBrowser = { ...procs, chromium: () => descendants(process.pid).filter((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('chrom'); } catch { return false; } }) };
  await page.goto(`http://127.0.0.1:${vs.port}/view.html`);
  await page.waitForFunction(() => window.connectedAt, null, { timeout: 10000 });
  await sleep(2000);
  mem('idle, 1 viewer');
  await window('idle, 1 viewer', withBrowser, vs);
  // moderate: one line 10 times a second
  const mod = spawn('xterm', ['-geometry', '80x24+400+300', '-e', 'sh', '-c', 'while :; do date +%T.%N; sleep 0.1; done'], { env, stdio: 'ignore' });
  await sleep(1500);
  await window('moderate (10 lines/s), 1 viewer', withBrowser, vs);
  await page.close(); await sleep(1500);
  if (mode !== 'Xtigervnc') { await stopProc(x0); x0 = undefined; }
  await window('moderate (10 lines/s), no viewer' + (mode === 'Xtigervnc' ? '' : ' (X0tigervnc stopped)'), procs);
  mod.kill();
  // heavy but capped: a full-screen xterm redrawn ~20 times a second (same work in both modes)
  const HEAVY = ['-geometry', '200x58+0+0', '-e', 'sh', '-c', 'while :; do od -An -tx1 -N2400 /dev/urandom; sleep 0.05; done'];
  let heavy = spawn('xterm', HEAVY, { env, stdio: 'ignore' });
  await sleep(1500);
  await window('heavy (full screen, ~20 redraws/s), no viewer' + (mode === 'Xtigervnc' ? '' : ' (X0tigervnc stopped)'), { ...procs, xterm: () => [heavy.pid] });
  if (mode !== 'Xtigervnc') await attach();
  const page1 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page1.goto(`http://127.0.0.1:${vs.port}/view.html`);
  await page1.waitForFunction(() => window.connectedAt, null, { timeout: 10000 });
  await sleep(1500);
  await window('heavy (full screen, ~20 redraws/s), 1 viewer', { ...withBrowser, xterm: () => [heavy.pid] }, vs);
  await page1.close(); heavy.kill(); await sleep(500);
  if (mode !== 'Xtigervnc') { await stopProc(x0); x0 = undefined; }
  // busy: yes in an xterm
  const busy = spawn('xterm', ['-geometry', '80x24+400+300', '-e', 'seq', '999999999'], { env, stdio: 'ignore' });
  await sleep(1500);
  await window('busy (seq in xterm), no viewer' + (mode === 'Xtigervnc' ? '' : ' (X0tigervnc stopped)'), { ...procs, xterm: () => [busy.pid] });
  if (mode !== 'Xtigervnc') await attach();
  const page2 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page2.goto(`http://127.0.0.1:${vs.port}/view.html`);
  await page2.waitForFunction(() => window.connectedAt, null, { timeout: 10000 });
  await sleep(1500);
  mem('busy, 1 viewer');
  await window('busy (seq in xterm), 1 viewer', { ...withBrowser, xterm: () => [busy.pid] }, vs);
  busy.kill();
  await browser.close(); await vs.close();
  if (x0) await stopProc(x0);
  for (const k of kids) k.kill();
  await stopProc(x.proc);
}
for (const m of (process.argv[2] ?? 'Xtigervnc,Xvfb').split(',')) await run(m);
