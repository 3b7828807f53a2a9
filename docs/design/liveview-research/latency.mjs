// Input-to-screen latency through the bridge (key sent by noVNC → xterm echoes → update drawn on the canvas), and first frame.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RUN, xauth, xArgs, startX, waitRfb, stopProc, sleep, median , desktop } from './common.mjs';
import { startViewerServer } from './viewer-server.mjs';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core');
const N = Number(process.env.N ?? 20);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });

async function run(mode) {
  const auth = `${RUN}/xa-lat`; rmSync(auth, { force: true }); xauth(auth);
  const sock = `${RUN}/lat.sock`; rmSync(sock, { force: true });
  const x = await startX(xArgs(mode === 'Xtigervnc' ? 'Xtigervnc' : 'Xvfb', sock).map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
  const env = { DISPLAY: `:${x.display}`, XAUTHORITY: auth, PATH: '/usr/bin:/bin', HOME: '/tmp' };
  const kids = await desktop(env, ['-geometry', '80x24+0+0', '-e', 'cat']);
  let x0;
  if (mode !== 'Xtigervnc') { const t0 = performance.now(); x0 = spawn('X0tigervnc', ['-display', env.DISPLAY, '-rfbunixpath', sock, '-rfbport', '-1', '-SecurityTypes', 'None', '-AlwaysShared'], { env, stdio: 'ignore' }); await waitRfb(sock, t0); }
  await sleep(2500);
  const vs = await startViewerServer({ socketFor: () => sock });
  const first = []; console.error('X up', mode);
  for (let i = 0; i < 5; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const t0 = Date.now();
    await page.goto(`http://127.0.0.1:${vs.port}/view.html?control=1`);
    await page.waitForFunction(() => { const c = document.querySelector('#screen canvas'); if (!c || !c.width) return false; const d = c.getContext('2d').getImageData(100, 100, 1, 1).data; return d[0] > 200; }, null, { polling: 5, timeout: 10000 });
    first.push(Date.now() - t0);
    await page.close();
  }
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`http://127.0.0.1:${vs.port}/view.html?control=1`);
  await page.waitForFunction(() => window.connectedAt, null, { timeout: 10000 });
  await page.mouse.click(200, 200); // focus xterm
  await sleep(1000);
  await page.evaluate(() => {
    const c = document.querySelector('#screen canvas'); const ctx = c.getContext('2d', { willReadFrequently: true });
    window.sig = () => { const d = ctx.getImageData(0, 0, 500, 420).data; let h = 0; for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i]) | 0; return h; };
    const disp = window.rfb._display; const orig = disp.flip.bind(disp);
    disp.flip = (...a) => { orig(...a); if (window.waiting && window.sig() !== window.waiting.before) { const w = window.waiting; window.waiting = null; w.res(performance.now() - w.t0); } };
    window.trial = (k) => new Promise((res) => { window.waiting = { before: window.sig(), t0: performance.now(), res }; window.rfb.sendKey(k, null, true); window.rfb.sendKey(k, null, false); setTimeout(() => { if (window.waiting) { window.waiting = null; res(NaN); } }, 2000); });
  });
  const lat = []; console.error('first', first);
  for (let i = 0; i < N; i++) { lat.push(await page.evaluate((k) => window.trial(k), 0x61 + (i % 26))); await sleep(150); }
  console.log(`${mode.padEnd(22)} first frame (goto → xterm pixel on canvas) median ${median(first)} ms [${first.join(', ')}]; key → canvas changed median ${median(lat).toFixed(1)} ms (min ${Math.min(...lat).toFixed(1)}, max ${Math.max(...lat).toFixed(1)}, n=${lat.length})`);
  await page.close(); await vs.close();
  if (x0) await stopProc(x0);
  for (const k of kids) k.kill();
  await stopProc(x.proc);
}
for (const m of (process.env.MODES ?? 'Xtigervnc,Xvfb+X0tigervnc').split(',')) await run(m);
await browser.close();
