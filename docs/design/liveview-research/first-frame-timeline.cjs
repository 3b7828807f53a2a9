// The live view's first frame, as a timeline of the page (ms from opening the link): the viewer
// document, its scripts, the WebSocket, the first RFB message, the first canvas draw, the first
// light pixel. Usage (after npm run build): node docs/design/liveview-research/first-frame-timeline.cjs [opens]
// DIST=<another build> compares builds; VARIANTS=name=src>dest;…,… swaps files between opens; DETAIL=1 lists every message and draw.
const { chromium } = require('playwright-core');
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { spawn } = require('child_process');
const RUNS = Number(process.argv[2] ?? 8);
const DIST = process.env.DIST ?? require('path').join(__dirname, '../../../dist');
(async () => {
  const port = 39000 + Math.floor(Math.random() * 1000);
  const { CONTAINER_NAME, ...env } = process.env;
  const p = spawn('node', [`${DIST}/main.js`], { env: { ...env, PORT: String(port), COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', COMPUTER_NETWORK: 'off', SCREEN_WIDTH: '1280', SCREEN_HEIGHT: '800', LOG_LEVEL: 'warn', POOL_MIN_WARM: '0' }, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) { if (await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false)) break; await new Promise((r) => setTimeout(r, 100)); }
  const c = new Client({ name: 'x', version: '1' }); await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  await c.callTool({ name: 'computer', arguments: { session_id: 'b', action: 'screenshot' } });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const rows = [];
  const variants = (process.env.VARIANTS ?? '').split(',').filter(Boolean); // name=src>dest;src>dest
  const apply = (v) => v.split('=')[1].split(';').forEach((pair) => { const [a, b] = pair.split('>'); require('fs').copyFileSync(a, b); });
  for (let run = 0; run < RUNS; run++) {
    const variant = variants.length ? variants[run % variants.length] : 'current';
    if (variants.length) apply(variant);
    const url = (await c.callTool({ name: 'live_view', arguments: { session_id: 'b' } })).structuredContent.url;
    const page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
    await page.addInitScript(() => {
      const T = (window.__t = {});
      const WS = window.WebSocket;
      function W(...a) { const ws = new WS(...a); T.wsNew ??= performance.now(); ws.addEventListener('open', () => (T.wsOpen ??= performance.now())); ws.addEventListener('message', (e) => { T.wsMsg1 ??= performance.now(); (window.__msgs ??= []).length < 40 && window.__msgs.push([Math.round(performance.now()), e.data.byteLength ?? e.data.length]); }); return ws; }
      W.prototype = WS.prototype; Object.assign(W, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
      window.WebSocket = W;
      for (const m of ['putImageData', 'drawImage']) { const o = CanvasRenderingContext2D.prototype[m]; CanvasRenderingContext2D.prototype[m] = function (...a) { T.draw ??= performance.now(); (window.__draws ??= []).length < 60 && window.__draws.push([Math.round(performance.now()), m[0], this.canvas.width, a[a.length - 2] ?? 0, a[a.length - 1] ?? 0]); return o.apply(this, a); }; }
    });
    page.on('console', (m) => m.type() === 'error' && console.log('console:', m.text())); page.on('pageerror', (e) => console.log('pageerror:', e.message));
    const t0 = Date.now();
    await page.goto(url);
    const firstPixel = await (await page.waitForFunction(() => { const c = document.querySelector('#screen canvas'); if (!c || c.width < 100) return false; const x = c.getContext('2d'); for (let i = 1; i < 6; i++) for (let j = 1; j < 6; j++) if (x.getImageData(Math.floor(c.width * i / 6), Math.floor(c.height * j / 6), 1, 1).data[0] > 200) return Date.now(); return false; }, undefined, { polling: 'raf' })).jsonValue();
    const r = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      const res = Object.fromEntries(performance.getEntriesByType('resource').map((e) => [e.name.replace(/.*\//, ''), [Math.round(e.fetchStart), Math.round(e.responseEnd)]]));
      return { msgs: window.__msgs, draws: window.__draws, origin: performance.timeOrigin, doc: Math.round(n.responseEnd), dcl: Math.round(n.domContentLoadedEventEnd), res, t: Object.fromEntries(Object.entries(window.__t).map(([k, v]) => [k, Math.round(v)])) };
    });
    const o = Math.round(r.origin - t0);
    const row = { viewerDocStart: o, docEnd: o + r.doc, viewerJs: o + (r.res['viewer.js']?.[1] ?? NaN), novncJs: o + (r.res['novnc.js']?.[1] ?? NaN), dcl: o + r.dcl, wsNew: o + r.t.wsNew, wsOpen: o + r.t.wsOpen, wsMsg1: o + r.t.wsMsg1, draw: o + r.t.draw, firstPixel: firstPixel - t0 };
    row.variant = variant.split('=')[0];
    if (process.env.DETAIL) console.log('firstPixel', row.firstPixel, 'origin', o, 'msgs', JSON.stringify(r.msgs.map(([t, b]) => [t + o, b])), 'draws', JSON.stringify(r.draws.map(([t, ...x]) => [t + o, ...x])));
    rows.push(row);
    if (process.env.VERBOSE) console.log(JSON.stringify(row));
    await page.close();
  }
  for (const name of [...new Set(rows.map((r) => r.variant))]) {
    const mine = rows.filter((r) => r.variant === name);
    const med = (k) => { const v = mine.map((r) => r[k]).sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2; };
    console.log(name, `n=${mine.length}`, JSON.stringify(Object.fromEntries(Object.keys(mine[0]).filter((k) => k !== 'variant').map((k) => [k, med(k)]))));
  }
  await browser.close(); await c.close(); p.kill();
})();
