import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** The http:// (or https://) address the app listens on (0.0.0.0 / :: shown as 127.0.0.1, which reaches it). */
export function computerServerUrl(app: INestApplication): string {
  const server = app.getHttpServer() as { address(): AddressInfo | string | null };
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('The computer server is not listening on TCP.');
  const host = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
  return `${server instanceof TlsServer ? 'https' : 'http'}://${isIPv6(host) ? `[${host}]` : host}:${addr.port}`;
}
