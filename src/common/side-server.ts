import { once } from 'node:events';
import type { Server } from 'node:http';

/**
 * The life of an HTTP server of our own beside the main one (the probe port, the cluster port): listening,
 * or the error that kept it from it; and closing it at once, open connections included.
 */
export async function listenOn(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
}

export async function closeNow(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}
