import type { NextFunction, Request, Response } from 'express';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { readMcpBody } from './mcp-body';

interface Answer {
  status: number;
  json: { body?: unknown; error?: { code: number; message: string } };
}

describe(readMcpBody.name, () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // The reader on a real Node server: answers what it parsed, or its own error.
    server = createServer((req, res) => {
      const next: NextFunction = () => res.setHeader('Content-Type', 'application/json').end(JSON.stringify({ body: (req as Request).body as unknown }));
      readMcpBody(req as Request, res as Response, next);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(() => server.close());

  function post(body: Buffer, headers: Record<string, string>): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Answer['json'] }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The same body read plainly and through express.json() (which is what a gzip body takes). */
  const both = async (text: string, type = 'application/json') => {
    const raw = Buffer.from(text, 'utf8');
    return [await post(raw, { 'Content-Type': type }), await post(gzipSync(raw), { 'Content-Type': type, 'Content-Encoding': 'gzip' })];
  };

  it.each([
    ['an object', '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', 'application/json'],
    ['a batch after white space', ' \n\t[{"jsonrpc":"2.0","method":"notifications/initialized"}]', 'application/json'],
    ['text after a byte-order mark', '\uFEFF{"text":"é ✓ 日本"}', 'application/json'],
    ['an empty body', '', 'application/json'],
    ['with a charset parameter', '{"a":[1,2,3]}', 'application/json; charset=UTF-8'],
  ])('reads %s as express.json() does', async (_what, text, type) => {
    const [plain, viaExpress] = await both(text, type);
    expect(plain).toEqual(viaExpress);
    expect(plain.status).toBe(200);
  });

  it.each([
    ['cut-off JSON', '{"jsonrpc":'],
    ['a JSON string', '"tools/list"'],
    ['null', 'null'],
  ])('answers %s with the same JSON-RPC parse error status and code as express.json()', async (_what, text) => {
    const [plain, viaExpress] = await both(text);
    expect([plain.status, plain.json.error?.code]).toEqual([400, -32700]);
    expect([viaExpress.status, viaExpress.json.error?.code]).toEqual([400, -32700]);
    expect(plain.json.error?.message).toMatch(/^Parse error: the body is not valid JSON \(.+\)\.$/);
  });

  it('refuses a chunked body past 4 MB with 413, as express.json() does one announced that large', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 10, 0x20);
    const chunked = await post(huge, { 'Transfer-Encoding': 'chunked' });
    const announced = await post(huge, { 'Content-Length': String(huge.length) });
    for (const r of [chunked, announced]) expect([r.status, r.json.error?.code, r.json.error?.message]).toEqual([413, -32600, 'Request body too large: at most 4mb.']);
  });
});
