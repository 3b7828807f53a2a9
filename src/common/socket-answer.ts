import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers a request that arrived as an upgrade (no ServerResponse exists for it) with a plain-text HTTP answer and
 * closes the socket: how a refused or failed WebSocket upgrade is told why, before any WebSocket exists.
 */
export function answerOnSocket(socket: Duplex, status: number, body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head), bytes]));
}
