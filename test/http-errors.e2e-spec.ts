import request from 'supertest';
import { startApp, TestApp } from './support/app';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const ACCEPT = 'application/json, text/event-stream';

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
    for (const method of ['post', 'get', 'delete'] as const) {
      const r = await request(server())[method]('/mcp').set('Accept', ACCEPT).set('Mcp-Session-Id', 'nope').send(method === 'post' ? { jsonrpc: '2.0', id: 1, method: 'tools/list' } : undefined);
      expect(r.status).toBe(404);
      expect(r.body.error.message).toMatch(/Session not found/);
    }
  });

  it('GET and DELETE without a session id get 400', async () => {
    expect((await request(server()).get('/mcp').set('Accept', 'text/event-stream')).status).toBe(400);
    expect((await request(server()).delete('/mcp')).status).toBe(400);
  });

  it('malformed JSON gets a JSON-RPC parse error, an oversized body 413', async () => {
    const bad = await request(server()).post('/mcp').set('Content-Type', 'application/json').set('Accept', ACCEPT).send('{"jsonrpc": "2.0", ');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe(-32700);
    const huge = await request(server()).post('/mcp').set('Content-Type', 'application/json').set('Accept', ACCEPT).send(JSON.stringify({ x: 'a'.repeat(5 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.body.error.message).toMatch(/too large/);
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
