// The extension's own AppBridge (bundled) as the test host, a hand-written View doing the ui/initialize handshake over postMessage.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core');
const VIEW = `<!doctype html><meta charset=utf-8><body><pre id=out>waiting</pre><script>
let id = 0; const pending = new Map();
const send = (m) => window.parent.postMessage({ jsonrpc: '2.0', ...m }, '*');
const request = (method, params) => new Promise((res, rej) => { const i = ++id; pending.set(i, { res, rej }); send({ id: i, method, params }); });
window.addEventListener('message', (e) => {
  if (e.source !== window.parent) return; const m = e.data;
  if (m.id !== undefined && pending.has(m.id)) { const p = pending.get(m.id); pending.delete(m.id); m.error ? p.rej(m.error) : p.res(m.result); return; }
  if (m.method === 'ui/notifications/tool-result') document.getElementById('out').textContent = 'url=' + m.params.structuredContent.url;
});
(async () => {
  const r = await request('ui/initialize', { appCapabilities: { availableDisplayModes: ['inline', 'fullscreen'] }, appInfo: { name: 'live-view', version: '1' }, protocolVersion: '2026-01-26' });
  send({ method: 'ui/notifications/initialized', params: {} });
  window.hostInfo = r.hostInfo; window.hostContext = r.hostContext;
  window.fullscreen = await request('ui/request-display-mode', { mode: 'fullscreen' }).catch((e) => ({ error: e }));
})();
</script>`;
const server = http.createServer((rq, rs) => {
  if (rq.url === '/') { rs.writeHead(200, { 'content-type': 'text/html' }); return rs.end('<!doctype html><body><script src="/host.js"></script>'); }
  const f = rq.url.slice(1); if (!/^[0-9a-z.]+\.js$/.test(f)) { rs.writeHead(404); return rs.end(); }
  rs.writeHead(200, { 'content-type': 'text/javascript' }); rs.end(readFileSync(`/tmp/lvr/hosttest/dist/${f}`));
}).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage(); const logs = []; page.on('console', (m) => logs.push(m.text())); page.on('pageerror', (e) => logs.push('ERR ' + e.message));
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.waitForFunction(() => window.startHost);
console.log('startHost:', await page.evaluate((html) => window.startHost(html), VIEW));
const frame = page.frames()[1];
await frame.waitForFunction(() => document.getElementById('out').textContent.startsWith('url='));
console.log('View shows:', await frame.evaluate(() => document.getElementById('out').textContent), '| hostInfo', JSON.stringify(await frame.evaluate(() => window.hostInfo)), '| display mode answer', JSON.stringify(await frame.evaluate(() => window.fullscreen)));
console.log('app capabilities seen by the bridge:', JSON.stringify(await page.evaluate(() => window.bridge.getAppCapabilities())));
if (logs.length) console.log('console:', logs.slice(0, 5).join(' | '));
await browser.close(); server.close();
