import { json, type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rpcError } from './mcp-errors';

export const MAX_MCP_BODY = '4mb';
const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024;
const parse = json({ limit: MAX_MCP_BODY });

const tooLarge = (res: ServerResponse) => rpcError(res, 413, -32600, `Request body too large: at most ${MAX_MCP_BODY}.`);
const notJson = (res: ServerResponse, status: number, why: string) => rpcError(res, status, -32700, `Parse error: the body is not valid JSON (${why}).`);

/**
 * Parses the JSON body of a POST to /mcp into `req.body`, then calls next; bad JSON or an oversized body gets a JSON-RPC error, not an HTML page.
 *
 * A plain body (`application/json` in UTF-8, not compressed: what MCP clients send) is read and
 * `JSON.parse`d here, with express.json()'s rules; anything else (compressed bodies, other
 * charsets, other media types) goes to express.json(). The plain read is the common case of every
 * tool call, and express.json()'s layers (type-is, content-type, raw-body, iconv-lite) cost about
 * a tenth of a trivial call's server CPU (BENCHMARKS.md, MCP overhead).
 */
export function readMcpBody(req: Request, res: Response, next: NextFunction): void {
  if (plainJsonBody(req)) {
    void readJsonBody(req, res).then((read) => {
      if (!read) return;
      req.body = read.body;
      next();
    });
    return;
  }
  parse(req, res, (err?: unknown) => {
    if (!err) return next();
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.too.large') return tooLarge(res);
    return notJson(res, e.status ?? 400, e.message ?? 'unreadable');
  });
}

/**
 * Whether readJsonBody can parse this request as express.json() would: an `application/json`
 * body in UTF-8, not compressed, announced within the limit (or chunked).
 */
function plainJsonBody(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (!type) return false;
  const [media, ...params] = type.split(';');
  if (media.trim().toLowerCase() !== 'application/json') return false;
  if (params.some((p) => !/^\s*charset\s*=\s*"?utf-8"?\s*$/i.test(p))) return false;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const length = req.headers['content-length'];
  if (length === undefined) return req.headers['transfer-encoding'] !== undefined;
  return Number(length) <= MAX_MCP_BODY_BYTES;
}

/**
 * Reads and parses a body that plainJsonBody accepted, with express.json()'s rules (an empty body
 * is `{}`; only an object or an array is JSON-RPC). On failure it answers 413 or 400 as
 * express.json()'s errors are answered, and resolves undefined.
 */
function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<{ body: unknown } | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (answer: () => void) => {
      failed = true;
      req.removeAllListeners('data');
      req.resume();
      answer();
      resolve(undefined);
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_MCP_BODY_BYTES) return fail(() => tooLarge(res));
      chunks.push(chunk);
    });
    req.on('error', (e) => !failed && fail(() => notJson(res, 400, e.message)));
    req.on('end', () => {
      if (failed) return;
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8').replace(/^\uFEFF/, '');
      if (!text.length) return resolve({ body: {} });
      const first = /^[ \t\n\r]*(.)/s.exec(text)?.[1];
      if (first !== '{' && first !== '[') return fail(() => notJson(res, 400, `only an object or an array is accepted, not ${JSON.stringify(text.slice(0, 16))}`));
      try {
        resolve({ body: JSON.parse(text) as unknown });
      } catch (e) {
        fail(() => notJson(res, 400, (e as Error).message));
      }
    });
  });
}
