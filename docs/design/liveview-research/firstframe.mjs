// Where does the time to the first frame go? navigation → module graph loaded → RFB connected → first frame drawn. Cold (new context) and warm (same context, cached modules).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RUN, xauth, xArgs, startX, waitRfb, stopProc, sleep, median, waitWindow , desktop } from './common.mjs';
import { startViewerServer } from './viewer-server.mjs';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core');
const auth = `${RUN}/xa-ff`; rmSync(auth, { force: true }); xauth(auth);
const sock = `${RUN}/ff.sock`; rmSync(sock, { force: true });
const x = await startX(xArgs('Xtigervnc', sock).map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
const env = { DISPLAY: `:${x.display}`, XAUTHORITY: auth, PATH: '/usr/bin:/bin', HOME: '/tmp' };
const kids = await desktop(env); await sleep(300);
const vs = await startViewerServer({ socketFor: () => sock });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const rows = { cold: [], warm: [] };
const ctxWarm = await browser.newContext();
for (let i = 0; i < 6; i++) {
  for (const kind of ['cold', 'warm']) {
    const ctx = kind === 'cold' ? await browser.newContext() : ctxWarm;
    const page = await ctx.newPage();
    let requests = 0; page.on('request', () => requests++);
    await page.addInitScript(() => {
      window.addEventListener('DOMContentLoaded', () => (window.dcl = performance.now()));
    });
    await page.goto(`http://127.0.0.1:${vs.port}/view.html`, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.rfb && window.connectedAt, null, { polling: 5, timeout: 10000 });
    await page.evaluate(() => { const d = window.rfb._display; if (window.firstFlip) return; const o = d.flip.bind(d); d.flip = (...a) => { o(...a); window.firstFlip ??= performance.now(); }; });
    await page.waitForFunction(() => { const c = document.querySelector('#screen canvas'); const p = c.getContext('2d').getImageData(100, 100, 1, 1).data; return p[0] > 200; }, null, { polling: 5, timeout: 10000 });
    const t = await page.evaluate(() => ({ nav: performance.timing.responseEnd - performance.timing.navigationStart, modules: window.t0, connected: window.connectedAt, drawn: performance.now() }));
    rows[kind].push({ ...t, requests });
    await page.close(); if (kind === 'cold') await ctx.close();
  }
}
for (const [k, r] of Object.entries(rows)) {
  const m = (f) => median(r.map(f)).toFixed(0);
  console.log(`${k}: html ${m((x) => x.nav)} ms, modules loaded (RFB constructed) ${m((x) => x.modules)} ms, RFB connected ${m((x) => x.connected)} ms, xterm pixel drawn ≤ ${m((x) => x.drawn)} ms after navigation start; requests ${m((x) => x.requests)}`);
}
await browser.close(); await vs.close(); for (const k of kids) k.kill(); await stopProc(x.proc);
