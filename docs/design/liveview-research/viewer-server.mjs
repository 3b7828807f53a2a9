// Minimal stand-in for the server: serves noVNC from node_modules as static files, a page, and a WS→unix-socket bridge.
import http from 'node:http';
import net from 'node:net';
import { createReadStream, statSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize, extname } from 'node:path';
import { ClientStream, NAMES, INPUT } from './rfb-filter.mjs';
const req = createRequire('/tmp/lvr/npm/package.json');
const { WebSocketServer } = req('ws');
// "exports": "./core/rfb.js" (no ./package.json): resolve the entry, then go up one folder.
const NOVNC = dirname(dirname(req.resolve('@novnc/novnc')));

export function startViewerServer({ socketFor, port = 0, viewOnly = () => true }) {
  const counts = {};
  const types = { '.js': 'text/javascript', '.html': 'text/html' };
  const walk = (d) => readdirSync(join(NOVNC, d), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.js') ? [join(d, e.name)] : []));
  const preload = process.env.PRELOAD ? [...walk('core'), ...walk('vendor/pako/lib')].map((f) => `<link rel=modulepreload href="/novnc/${f}">`).join('') : '';
  const page = (qs) => `<!doctype html><meta charset=utf-8><title>live</title>${preload}
<style>html,body{margin:0;height:100%;background:#222}#screen{width:100%;height:100%}</style>
<div id=screen></div>
<script type=module>
import RFB from '/novnc/core/rfb.js';
const p = new URLSearchParams(location.search);
const rfb = new RFB(document.getElementById('screen'), \`ws://\${location.host}/ws?\${p}\`, { shared: true });
rfb.viewOnly = p.get('control') !== '1' && p.get('rogue') !== '1';
rfb.scaleViewport = true;
rfb.resizeSession = false;
window.rfb = rfb; window.t0 = performance.now();
rfb.addEventListener('connect', () => (window.connectedAt = performance.now()));
rfb.addEventListener('disconnect', (e) => (window.disconnected = e.detail));
</script>`;
  const server = http.createServer((rq, rs) => {
    const u = new URL(rq.url, 'http://x');
    if (u.pathname === '/bundle.html') { rs.writeHead(200, { 'content-type': 'text/html' }); return rs.end('<!doctype html><script type=module>import RFB from "/bundle/rfb.bundle.js"; window.t0 = performance.now();</script>'); }
    if (u.pathname === '/bundle/rfb.bundle.js') { rs.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'public, max-age=86400, immutable' }); return createReadStream('/tmp/lvr/bundle/rfb.bundle.js').pipe(rs); }
    if (u.pathname === '/blank.html') { rs.writeHead(200, { 'content-type': 'text/html' }); return rs.end('<!doctype html><script type=module>window.t0 = performance.now();</script>'); }
    if (u.pathname === '/view.html') { rs.writeHead(200, { 'content-type': 'text/html' }); return rs.end(page()); }
    if (u.pathname.startsWith('/novnc/')) {
      const rel = normalize(u.pathname.slice('/novnc/'.length));
      if (rel.startsWith('..') || !/^(core|vendor)\//.test(rel)) { rs.writeHead(404); return rs.end(); }
      const f = join(NOVNC, rel);
      try { statSync(f); } catch { rs.writeHead(404); return rs.end(); }
      rs.writeHead(200, { 'content-type': types[extname(f)] ?? 'application/octet-stream', ...(process.env.CACHE ? { 'cache-control': 'public, max-age=86400, immutable' } : {}) });
      return createReadStream(f).pipe(rs);
    }
    rs.writeHead(404); rs.end();
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  const stats = { bytesToClient: 0, bytesFromClient: 0, dropped: 0 };
  wss.on('connection', (ws, rq) => {
    stats.protocol = ws.protocol;
    const u = new URL(rq.url, 'http://x');
    const vnc = net.createConnection(socketFor(u));
    const control = u.searchParams.get('control') === '1';
    const parser = new ClientStream({
      allow: (m) => { const ok = !INPUT.has(m[0]) || (control && m[0] !== 250 && m[0] !== 251 && m[0] !== 253); if (!ok) stats.dropped++; return ok; },
      onMessage: (m) => { const n = NAMES[m[0]] + (m[0] === 6 && m.readInt32BE(4) < 0 ? ' (extended)' : ''); counts[n] = (counts[n] ?? 0) + 1; if (m[0] === 2) stats.encodings = Array.from({ length: m.readUInt16BE(2) }, (_, i) => m.readInt32BE(4 + 4 * i)); },
    });
    vnc.on('data', (d) => { stats.bytesToClient += d.length; ws.send(d); });
    vnc.on('close', () => ws.close());
    vnc.on('error', () => ws.close());
    ws.on('message', (d) => { stats.bytesFromClient += d.length; try { const out = parser.push(d); if (out.length) vnc.write(out); } catch (e) { stats.error = e.message; ws.close(1008, 'protocol'); vnc.destroy(); } });
    ws.on('close', () => vnc.destroy());
  });
  return new Promise((res) => server.listen(port, '127.0.0.1', () => res({ server, wss, port: server.address().port, counts, stats, close: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); server.close(r); }) })));
}
