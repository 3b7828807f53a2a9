// Scratch: a 2025-only server like the project's today (SDK 1.32.2, one sessionful transport per session).
import express from 'express';
import { randomUUID } from 'node:crypto';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const transports = new Map();
const app = express();
app.use(express.json());
app.all('/mcp', async (req, res) => {
  const sid = req.header('mcp-session-id');
  if (sid && transports.has(sid)) return transports.get(sid).handleRequest(req, res, req.body);
  if (req.method === 'POST' && isInitializeRequest(req.body)) {
    const server = new McpServer({ name: 'v1', version: '1.0.0' });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text: `${text} (v1 server)` }] }));
    const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => transports.set(id, t) });
    await server.connect(t);
    return t.handleRequest(req, res, req.body);
  }
  res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no valid session' }, id: null });
});
app.listen(3312, '127.0.0.1', () => console.error('[v1server] listening on 127.0.0.1:3312'));
