import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';

/** The http:// address the app listens on (0.0.0.0 / :: shown as 127.0.0.1, which reaches it). */
export function computerServerUrl(app: INestApplication): string {
  const addr = (app.getHttpServer() as { address(): AddressInfo | string | null }).address();
  if (!addr || typeof addr === 'string') throw new Error('The computer server is not listening on TCP.');
  const host = addr.address === '0.0.0.0' || addr.address === '::' ? '127.0.0.1' : addr.address;
  return `http://${isIPv6(host) ? `[${host}]` : host}:${addr.port}`;
}
