import { createSocket, Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, Server } from 'node:net';

/**
 * A DNS server on 127.0.0.1 for tests (UDP and TCP on one port): A records from `records`, an
 * empty answer for other types of a known name, NXDOMAIN for unknown names. It counts the
 * questions it got, by name, so a test can tell a name that was never asked upstream.
 */
export interface FakeDns {
  port: number;
  asked: Map<string, number>;
  close(): Promise<void>;
}

function answer(query: Buffer, records: Record<string, string>, ttl: number, asked: Map<string, number>): Buffer | undefined {
  if (query.length < 12) return undefined;
  const labels: string[] = [];
  let pos = 12;
  while (pos < query.length && query[pos] !== 0) {
    labels.push(query.toString('latin1', pos + 1, pos + 1 + query[pos]));
    pos += 1 + query[pos];
  }
  const qEnd = pos + 5;
  if (qEnd > query.length) return undefined;
  const name = labels.join('.').toLowerCase();
  const type = query.readUInt16BE(pos + 1);
  asked.set(name, (asked.get(name) ?? 0) + 1);
  const address = records[name];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | (address === undefined ? 3 : 0), 2);
  header.writeUInt16BE(1, 4);
  const records_: Buffer[] = [];
  if (address !== undefined && type === 1) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((b, i) => (rr[12 + i] = Number(b)));
    records_.push(rr);
  }
  header.writeUInt16BE(records_.length, 6);
  return Buffer.concat([header, query.subarray(12, qEnd), ...records_]);
}

export async function startFakeDns(records: Record<string, string>, ttl = 60): Promise<FakeDns> {
  const asked = new Map<string, number>();
  let udp: Socket = createSocket('udp4');
  const onMessage = (msg: Buffer, peer: { port: number; address: string }) => {
    const reply = answer(msg, records, ttl, asked);
    if (reply) udp.send(reply, peer.port, peer.address);
  };
  udp.on('message', onMessage);
  const tcp: Server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), records, ttl, asked);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (!reply) return socket.destroy();
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        socket.write(Buffer.concat([len, reply]));
      }
    });
  });
  // UDP and TCP on one port: a free UDP port whose TCP twin another process holds is tried again.
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    port = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => resolve());
      });
      break;
    } catch (e) {
      if (attempt >= 20) throw e;
      await new Promise<void>((r) => udp.close(() => r()));
      udp = createSocket('udp4');
      udp.on('message', onMessage);
    }
  }
  return {
    port,
    asked,
    close: async () => {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
