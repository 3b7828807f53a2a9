// Scratch: a "non-owner replica" that forwards whole MCP HTTP requests to the owner (server.mjs on 3311)
// and streams the answer back; a client that closes its stream aborts the upstream request.
import express from 'express';
import { Readable } from 'node:stream';

const OWNER = 'http://127.0.0.1:3311/mcp';
const PASS = ['content-type', 'accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-session-id', 'last-event-id'];
const app = express();
app.use(express.json());
app.all('/mcp', async (req, res) => {
  const upstreamAbort = new AbortController();
  res.on('close', () => { if (!res.writableFinished) { console.error(`[forwarder] client went away: aborting upstream ${req.body?.method ?? req.method}`); upstreamAbort.abort(); } });
  const headers = Object.fromEntries(PASS.filter((h) => req.headers[h]).map((h) => [h, req.headers[h]]));
  headers['x-forwarded-by'] = 'replica-b'; // the real thing signs this and the principal
  try {
    const up = await fetch(OWNER, { method: req.method, headers, body: req.method === 'POST' ? JSON.stringify(req.body) : undefined, signal: upstreamAbort.signal });
    res.status(up.status);
    up.headers.forEach((v, k) => { if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') res.setHeader(k, v); });
    res.flushHeaders();
    if (up.body) Readable.fromWeb(up.body).on('error', () => res.destroy()).pipe(res);
    else res.end();
  } catch (e) {
    if (!res.headersSent) res.status(502).json({ jsonrpc: '2.0', error: { code: -32603, message: `owner unreachable: ${e.message}` }, id: null });
    else res.destroy();
  }
});
app.listen(3313, '127.0.0.1', () => console.error('[forwarder] listening on 127.0.0.1:3313'));
