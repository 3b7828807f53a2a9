import { Injectable, NestMiddleware } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';
import type { ServerResponse } from 'node:http';
import { rpcError } from './mcp-errors';

export const MAX_MCP_BODY = '4mb';
const parse = json({ limit: MAX_MCP_BODY });

const tooLarge = (res: ServerResponse) => rpcError(res, 413, -32600, `Request body too large: at most ${MAX_MCP_BODY}.`);
const notJson = (res: ServerResponse, status: number, why: string) => rpcError(res, status, -32700, `Parse error: the body is not valid JSON (${why}).`);

/** Parses JSON bodies on /mcp; bad JSON or an oversized body gets a JSON-RPC error, not an HTML page. */
@Injectable()
export class McpBodyMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction) {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { status?: number; type?: string; message?: string };
      if (e.type === 'entity.too.large') return tooLarge(res);
      return notJson(res, e.status ?? 400, e.message ?? 'unreadable');
    });
  }
}
