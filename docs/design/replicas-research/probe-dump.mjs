// Scratch: record what a v2 client in 'auto' mode sends first, answering like a 2025-only server would.
import http from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
const srv = http.createServer((req, res) => {
  let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => {
    const h = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('mcp') || k === 'accept' || k === 'content-type'));
    console.log('>>', req.method, JSON.stringify(h), b);
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: no valid session"},"id":null}');
  });
}).listen(0, '127.0.0.1', async () => {
  const c = new Client({ name: 'probe', version: '1' }, { versionNegotiation: { mode: 'auto' } });
  try { await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${srv.address().port}/mcp`))); } catch (e) { console.log('connect ended:', e.message.slice(0, 160)); }
  srv.close(); process.exit(0);
});
