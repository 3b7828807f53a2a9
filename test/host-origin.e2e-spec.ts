import { request } from 'node:http';
import { startApp, TestApp } from './support/app';

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

/** POST initialize with exactly these Host / Origin headers (fetch would not let us set Host). */
function initWith(t: TestApp, headers: { host: string; origin?: string }): Promise<{ status: number; body: string }> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(INIT), ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(INIT);
  });
}

describe('Host and Origin checks on /mcp (DNS rebinding)', () => {
  let t: TestApp;
  afterEach(async () => t?.close());

  it('with ALLOWED_HOSTS and ALLOWED_ORIGINS, only listed host names (any port) and exactly listed origins get in', async () => {
    t = await startApp({ ALLOWED_HOSTS: 'mcp.example.com,MCP2.example.com', ALLOWED_ORIGINS: 'https://app.example.com' });
    expect((await initWith(t, { host: 'mcp.example.com' })).status).toBe(200);
    expect((await initWith(t, { host: 'mcp.example.com:8443', origin: 'https://app.example.com' })).status).toBe(200);
    expect((await initWith(t, { host: 'mcp2.example.com', origin: 'https://APP.example.com:443' })).status).toBe(200);

    const badHost = await initWith(t, { host: 'evil.example' });
    expect(badHost.status).toBe(403);
    expect(JSON.parse(badHost.body)).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/Host "evil.example" is not in ALLOWED_HOSTS/) } });
    // The list replaces the loopback rule.
    expect((await initWith(t, { host: '127.0.0.1' })).status).toBe(403);
    expect((await initWith(t, { host: 'sub.mcp.example.com' })).status).toBe(403);

    const badOrigin = await initWith(t, { host: 'mcp.example.com', origin: 'https://evil.example' });
    expect(badOrigin.status).toBe(403);
    expect(JSON.parse(badOrigin.body).error.message).toMatch(/Origin "https:\/\/evil.example" is not in ALLOWED_ORIGINS/);
    expect((await initWith(t, { host: 'mcp.example.com', origin: 'http://app.example.com' })).status).toBe(403);
    expect((await initWith(t, { host: 'mcp.example.com', origin: 'https://app.example.com:8443' })).status).toBe(403);
    expect((await initWith(t, { host: 'mcp.example.com', origin: 'null' })).status).toBe(403);
  });

  it('without lists, a loopback-bound server accepts only loopback names; a server bound elsewhere checks nothing', async () => {
    t = await startApp();
    expect((await initWith(t, { host: 'localhost:3000', origin: 'http://localhost:5173' })).status).toBe(200);
    expect((await initWith(t, { host: 'evil.example' })).status).toBe(403);
    expect((await initWith(t, { host: '127.0.0.1', origin: 'https://evil.example' })).status).toBe(403);
    await t.close();
    t = await startApp({ HOST: '0.0.0.0' });
    expect((await initWith(t, { host: 'mcp.example.com', origin: 'https://anything.example' })).status).toBe(200);
  });

  it('ALLOWED_ORIGINS alone keeps the loopback Host rule', async () => {
    t = await startApp({ ALLOWED_ORIGINS: 'https://app.example.com' });
    expect((await initWith(t, { host: '127.0.0.1', origin: 'https://app.example.com' })).status).toBe(200);
    expect((await initWith(t, { host: 'evil.example', origin: 'https://app.example.com' })).status).toBe(403);
    expect((await initWith(t, { host: '127.0.0.1', origin: 'http://localhost' })).status).toBe(403);
  });
});
