// A person types a command the moment a control-mode live view page has control, on one server and many
// pages; whether the shell got every key (the command creates a file), and which RFB message the page
// sent the first key as: `k` a plain KeyEvent (keysym), `q` a QEMU extended key event (scancode).
// Found the lost key of take-over: before the filter dropped the QEMU pseudo-encoding, a key pressed as
// `k` and released as `q` stayed down in the X server and its next press was swallowed.
// Usage: DIST=dist node docs/design/liveview-research/typed-after-take.cjs [pages]
const { chromium } = require(require('path').join(__dirname, '../../../node_modules/playwright-core'));
const { Client } = require(require('path').join(__dirname, '../../../node_modules/@modelcontextprotocol/sdk/dist/cjs/client/index.js'));
const { StreamableHTTPClientTransport } = require(require('path').join(__dirname, '../../../node_modules/@modelcontextprotocol/sdk/dist/cjs/client/streamableHttp.js'));
const { spawn } = require('child_process');
const N = Number(process.argv[2] ?? 30);
(async () => {
  const port = 39000 + Math.floor(Math.random() * 1000);
  const { CONTAINER_NAME, ...env } = process.env;
  const p = spawn('node', [process.env.DIST + '/main.js'], { env: { ...env, PORT: String(port), COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', COMPUTER_NETWORK: 'off', LOG_LEVEL: 'warn', POOL_MIN_WARM: '0' }, stdio: 'ignore' });
  let browser;
  try {
    for (let i = 0; i < 100; i++) { if (await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false)) break; await new Promise((r) => setTimeout(r, 100)); }
    const c = new Client({ name: 'x', version: '1' }); await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    await c.callTool({ name: 'screenshot_cua', arguments: { session_id: 'b' } });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    const res = { sent: 0, lost: 0, detail: [] };
    for (let i = 0; i < N; i++) {
      const url = (await c.callTool({ name: 'live_view', arguments: { session_id: 'b', control: true } })).structuredContent.url;
      const page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
      await page.addInitScript(() => {
        window.__keys = [];
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (d) {
          const u = d instanceof ArrayBuffer ? new Uint8Array(d) : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
          if (u) {
            if (u[0] === 255 && u.length >= 12 && u[1] === 0 && u[3] === 1) window.__keys.push('q:' + String.fromCharCode(u[7]));
            if (u[0] === 4 && u.length >= 8 && u[1] === 1) window.__keys.push('k:' + String.fromCharCode(u[7]));
          }
          return send.call(this, d);
        };
      });
      await page.goto(url);
      await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('You have control'), undefined, { timeout: 20000 });
      await page.evaluate(() => document.querySelector('#screen canvas').focus());
      await page.keyboard.type(`touch /tmp/fk${i}\n`, { delay: 40 });
      await page.locator('#release').click();
      const done = (await c.callTool({ name: 'run_command', arguments: { session_id: 'b', command: `for n in $(seq 30); do test -f /tmp/fk${i} && { echo FILE-OK; exit 0; }; sleep 0.1; done; echo MISSING` } })).content.map((x) => x.text ?? '').join('');
      const ok = done.includes('FILE-OK');
      const kinds = await page.evaluate(() => window.__keys.slice(0, 4).join(','));
      res.byKind = res.byKind ?? {};
      const k = `${kinds.split(',')[0]?.[0] ?? '-'}:${ok ? 'ok' : 'LOST'}`;
      res.byKind[k] = (res.byKind[k] ?? 0) + 1;
      if (ok) res.sent++; else { res.lost++; res.detail.push(`${i}: keys ${await page.evaluate(() => window.__keys.join(','))}`); }
      await page.close();
    }
    console.log(JSON.stringify(res));
    await c.close();
  } catch (e) { console.log('error', e.message); } finally { await browser?.close(); p.kill(); }
})();
