// The token → cookie scheme in Chromium on plain http loopback: is a Secure; HttpOnly; SameSite=Strict; Path=/live/s1 cookie kept and sent (page, WebSocket upgrade), and is it sent from a cross-site iframe?
import http from 'node:http';
import { createRequire } from 'node:module';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core'); const { WebSocketServer } = req('ws');
const seen = [];
const server = http.createServer((rq, rs) => {
  const u = new URL(rq.url, 'http://x');
  seen.push(`${u.pathname} cookie=${rq.headers.cookie ?? '-'}`);
  if (u.pathname === '/live/s1/open') { rs.writeHead(303, { 'set-cookie': 'lv=abc; HttpOnly; Secure; SameSite=Strict; Path=/live/s1', location: '/live/s1/' }); return rs.end(); }
  if (u.pathname === '/live/s1/') { rs.writeHead(200, { 'content-type': 'text/html' }); return rs.end(`<script>const ws = new WebSocket('ws://' + location.host + '/live/s1/ws'); ws.onopen = () => (window.wsOpen = true); ws.onerror = () => (window.wsOpen = 'error');</script>`); }
  if (u.pathname === '/embed') { rs.writeHead(200, { 'content-type': 'text/html' }); return rs.end(`<iframe src="http://127.0.0.1:${server.address().port}/live/s1/"></iframe>`); }
  rs.writeHead(404); rs.end();
});
const wss = new WebSocketServer({ server });
wss.on('connection', (ws, rq) => { seen.push(`WS ${rq.url} cookie=${rq.headers.cookie ?? '-'} origin=${rq.headers.origin}`); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const P = server.address().port;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${P}/live/s1/open`);
await page.waitForFunction(() => window.wsOpen);
console.log('cookies in the jar:', JSON.stringify((await page.context().cookies()).map((c) => `${c.name} secure=${c.secure} sameSite=${c.sameSite} path=${c.path}`)));
// cross-site: a page on http://localhost:P embeds the live page of http://127.0.0.1:P
const server2 = http.createServer((rq, rs) => { rs.writeHead(200, { 'content-type': 'text/html' }); rs.end(`<iframe src="http://127.0.0.1:${P}/live/s1/"></iframe>`); });
await new Promise((r) => server2.listen(0, '127.0.0.1', r));
await page.goto(`http://localhost:${server2.address().port}/`);
await page.frames()[1].waitForFunction(() => window.wsOpen);
console.log(seen.join('\n'));
await browser.close(); server.close(); server2.close();
