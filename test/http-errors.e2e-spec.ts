import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { startApp, TestApp } from './support/app';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const ACCEPT = 'application/json, text/event-stream';
const LIST = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'list_sessions', arguments: {} } });

/** A raw POST to /mcp; a body given as chunks is written one by one without Content-Length (chunked). */
function post(url: string, headers: Record<string, string>, body: string | Buffer | Buffer[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { Accept: ACCEPT, 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const c of body) req.write(c);
      req.end();
    } else req.end(body);
  });
}

async function openSession(t: TestApp): Promise<string> {
  const transport = new StreamableHTTPClientTransport(new URL(t.url));
  const client = new Client({ name: 'raw-edges', version: '1.0.0' });
  await client.connect(transport);
  t.clients.push(client);
  return transport.sessionId!;
}

/** What a team adds to /mcp later: a guard of its own (here: refuses requests that carry X-Blocked). */
@Module({})
class ExtraGuardModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    const guard = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
      if (req.headers['x-blocked'] === undefined) return next();
      res.statusCode = 418;
      res.end('blocked by the extra guard');
    };
    consumer.apply(guard).forRoutes({ path: 'mcp', method: RequestMethod.ALL });
  }
}

describe('HTTP edges of /mcp and /health', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp()));
  afterAll(async () => t.close());

  const server = () => t.app.getHttpServer();

  it('a request without Mcp-Session-Id that is not initialize gets 400 with a JSON-RPC error', async () => {
    const r = await request(server()).post('/mcp').set('Accept', ACCEPT).send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/initialize/) } });
  });

  it('an unknown Mcp-Session-Id gets 404', async () => {
    for (const method of ['post', 'delete'] as const) {
      const r = await request(server())[method]('/mcp').set('Accept', ACCEPT).set('Mcp-Session-Id', 'nope').send(method === 'post' ? { jsonrpc: '2.0', id: 1, method: 'tools/list' } : undefined);
      expect(r.status).toBe(404);
      expect(r.body.error.message).toMatch(/Session not found/);
    }
  });

  it('DELETE without a session id gets 400; GET gets 405 with Allow, session id or not (there is no server-to-client stream)', async () => {
    expect((await request(server()).delete('/mcp')).status).toBe(400);
    for (const sid of [undefined, 'nope']) {
      const get = request(server()).get('/mcp').set('Accept', 'text/event-stream');
      const r = await (sid ? get.set('Mcp-Session-Id', sid) : get);
      expect([r.status, r.headers.allow, r.body.error.message]).toEqual([405, 'POST, DELETE', expect.stringMatching(/^Method not allowed/)]);
    }
  });

  it('malformed JSON gets a JSON-RPC parse error, an oversized body 413', async () => {
    const bad = await request(server()).post('/mcp').set('Content-Type', 'application/json').set('Accept', ACCEPT).send('{"jsonrpc": "2.0", ');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe(-32700);
    const huge = await request(server()).post('/mcp').set('Content-Type', 'application/json').set('Accept', ACCEPT).send(JSON.stringify({ x: 'a'.repeat(5 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.message).toMatch(/too large/);
  });

  it('a tool call of an open session: a gzip body is inflated; bad JSON, a non-object and an oversized chunked body get JSON-RPC errors; the session keeps working', async () => {
    const sid = await openSession(t);
    const headers = { 'Mcp-Session-Id': sid, 'Mcp-Protocol-Version': '2025-11-25' };
    const gzipped = await post(t.url, { ...headers, 'Content-Encoding': 'gzip' }, gzipSync(LIST));
    expect(gzipped.status).toBe(200);
    expect(gzipped.text).toContain('You have no sessions.');
    const bad = await post(t.url, headers, '{"jsonrpc":');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ jsonrpc: '2.0', error: { code: -32700, message: expect.stringMatching(/^Parse error/) } });
    const scalar = await post(t.url, headers, '"tools/list"');
    expect(scalar.status).toBe(400);
    expect(JSON.parse(scalar.text).error.code).toBe(-32700);
    const huge = await post(t.url, headers, Array.from({ length: 5 }, () => Buffer.alloc(1024 * 1024, 0x20)));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.text).error.message).toMatch(/too large/);
    expect((await post(t.url, headers, LIST)).text).toContain('You have no sessions.');
  });

  it('a guard another module adds to /mcp stops tool calls of an open session too (every request takes the one pipeline)', async () => {
    const guarded = await startApp({}, [ExtraGuardModule]);
    try {
      const sid = await openSession(guarded);
      const headers = { 'Mcp-Session-Id': sid, 'Mcp-Protocol-Version': '2025-11-25' };
      expect((await post(guarded.url, headers, LIST)).text).toContain('You have no sessions.');
      const blocked = await post(guarded.url, { ...headers, 'X-Blocked': '1' }, LIST);
      expect([blocked.status, blocked.text]).toEqual([418, 'blocked by the extra guard']);
    } finally {
      await guarded.close();
    }
  });

  it('initialize returns an Mcp-Session-Id that then works; DELETE ends it (then 404)', async () => {
    const init = await request(server()).post('/mcp').set('Accept', ACCEPT).send(INIT);
    expect(init.status).toBe(200);
    const sid = init.headers['mcp-session-id'];
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    const del = await request(server()).delete('/mcp').set('Mcp-Session-Id', sid).set('Mcp-Protocol-Version', '2025-06-18');
    expect(del.status).toBe(200);
    const after = await request(server()).post('/mcp').set('Accept', ACCEPT).set('Mcp-Session-Id', sid).send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(after.status).toBe(404);
  });

  it('liveness and readiness are up with their details', async () => {
    expect((await request(server()).get('/health/live')).body).toMatchObject({ status: 'ok' });
    const ready = await request(server()).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { computers: { status: 'up', max: 5 } } });
  });
});
