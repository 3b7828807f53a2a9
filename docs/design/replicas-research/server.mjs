// Scratch experiment (not project code): one Express 5 app serving /mcp in both eras with the SDK v2.
//  /mcp    : modern leg = createMcpHandler(factory, {legacy:'reject'}); legacy leg = legacyStatelessFallback(factory)
//            wrapped so that WE mint Mcp-Session-Id, check it on every request (a Map stands in for Redis),
//            answer DELETE ourselves and GET with 405.
//  /plain  : createMcpHandler(factory) with the SDK's default legacy:'stateless' (no session ids at all).
import express from 'express';
import { randomUUID } from 'node:crypto';
import * as z from 'zod/v4';
import { McpServer, createMcpHandler, isLegacyRequest, legacyStatelessFallback } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';

const sessions = new Map(); // Mcp-Session-Id -> { principal, logLevel }

function factory(ctx) {
  const sid = ctx.requestInfo?.headers.get('mcp-session-id') ?? undefined;
  const server = new McpServer({ name: 'scratch', version: '0.0.1' }, { capabilities: { logging: {} }, instructions: 'scratch server' });
  server.registerTool(
    'echo',
    { description: 'Echo text; steps>0 sends progress; sleep_ms waits (abortable)', inputSchema: z.object({ text: z.string(), steps: z.number().int().optional(), sleep_ms: z.number().int().optional() }) },
    async ({ text, steps = 0, sleep_ms = 0 }, c) => {
      const token = c.mcpReq._meta?.progressToken;
      await c.mcpReq.log('info', `echo called in ${ctx.era} era, sid=${sid ?? '-'}`);
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined) await c.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps } });
      }
      if (sleep_ms) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, sleep_ms);
          c.mcpReq.signal.addEventListener('abort', () => { clearTimeout(t); console.error(`[server] ${Date.now()} echo aborted (${ctx.era}): ${c.mcpReq.signal.reason}`); reject(new Error('aborted')); });
        });
      }
      return { content: [{ type: 'text', text: `${text} (${ctx.era}, sid=${sid ?? '-'}, principal=${c.http?.authInfo?.clientId ?? '-'}/${ctx.authInfo?.clientId ?? '-'})` }] };
    },
  );
  return server;
}

const modern = createMcpHandler(factory, { legacy: 'reject', onerror: (e) => console.error('[modern onerror]', e.message) });
const legacyLeg = legacyStatelessFallback(factory, (e) => console.error('[legacy onerror]', e.message));
const plain = createMcpHandler(factory, { onerror: (e) => console.error('[plain onerror]', e.message) });

function rpcErr(status, code, message) {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), { status, headers: { 'content-type': 'application/json' } });
}

async function legacyWithIds(request, options) {
  const sid = request.headers.get('mcp-session-id');
  const body = options?.parsedBody;
  if (request.method === 'GET') return new Response('Method not allowed.', { status: 405, headers: { allow: 'POST, DELETE' } });
  if (request.method === 'DELETE') {
    if (!sid || !sessions.delete(sid)) return rpcErr(404, -32001, 'Session not found');
    return new Response(null, { status: 200 });
  }
  const isInit = body && !Array.isArray(body) && body.method === 'initialize';
  if (isInit) {
    const id = randomUUID();
    sessions.set(id, { principal: 'anon' });
    const res = await legacyLeg(request, options);
    const headers = new Headers(res.headers);
    headers.set('mcp-session-id', id);
    return new Response(res.body, { status: res.status, headers });
  }
  if (!sid) return rpcErr(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
  if (!sessions.has(sid)) return rpcErr(404, -32001, 'Session not found');
  if (body?.method === 'notifications/cancelled') console.error(`[server] legacy cancel for request ${body.params?.requestId} of ${sid} (would fan out over Redis pub/sub)`);
  return legacyLeg(request, options);
}

const composite = {
  async fetch(request, options) {
    const legacy = await isLegacyRequest(request, options?.parsedBody);
    console.error(`[server] ${request.method} ${options?.parsedBody?.method ?? ''} -> ${legacy ? 'legacy' : 'modern'} leg`);
    return legacy ? legacyWithIds(request, options) : modern.fetch(request, options);
  },
};

const app = express();
app.use(express.json());
// Stands in for the project's gate: the authenticated principal rides on req.auth (toNodeHandler passes it on as authInfo).
app.use((req, _res, next) => { req.auth = { token: 'opaque', clientId: 'alice', scopes: [] }; next(); });
const compositeNode = toNodeHandler(composite);
const plainNode = toNodeHandler(plain);
app.all('/mcp', (req, res) => compositeNode(req, res, req.body));
app.all('/plain', (req, res) => plainNode(req, res, req.body));
const port = Number(process.env.PORT ?? 3311);
app.listen(port, '127.0.0.1', () => console.error(`[server] listening on 127.0.0.1:${port}`));
