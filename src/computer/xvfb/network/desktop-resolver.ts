import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, isIPv6, Server, Socket } from 'node:net';
import type { DnsServer } from './network-lists';
import { DnsFormatError, parseAnswer, parseQuery, RCODE, refusal } from './dns-message';

/** What a desktop may resolve, and what happens to the addresses it is told. */
export interface ResolverPolicy {
  /** True when the desktop may resolve `name` (lower case, no trailing dot). */
  resolves(name: string): boolean;
  /**
   * Called with the addresses of an answer before the desktop gets it (egress with an allow list
   * pins them in the firewall); a failure turns the answer into SERVFAIL.
   */
  learned?(addresses: { family: 4 | 6; address: string; ttl: number }[]): Promise<void>;
}

export interface DesktopResolverOptions {
  /** Where queries go; empty: every query fails (SERVFAIL). */
  upstreams: DnsServer[];
  policy: ResolverPolicy;
  /** Per upstream and try; default 2 s. */
  timeoutMs?: number;
  /** Called for upstream failures and malformed answers (never with a sandbox's input). */
  warn?: (message: string) => void;
}

/** Queries one desktop may have open at once; more are dropped (UDP) or refused (TCP), so a flood stays its own problem. */
const MAX_IN_FLIGHT = 64;
const MAX_TCP_CLIENTS = 16;
const TCP_IDLE_MS = 10_000;
const MAX_MESSAGE = 65_535;

/**
 * A desktop's own DNS resolver: it listens on the host's loopback (UDP and TCP, one port, which
 * pasta maps to 127.0.0.1:53 inside that desktop only), answers NXDOMAIN for names the policy
 * refuses, and forwards the rest to the upstream resolvers from the host's network namespace —
 * so the desktop needs no route to the host's resolver (often in a private range, such as a
 * cluster's DNS service). Stopped with close().
 */
export class DesktopResolver {
  private inFlight = 0;
  private readonly clients = new Set<Socket>();
  private readonly timeoutMs: number;
  private closed = false;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    readonly port: number,
    private readonly o: DesktopResolverOptions,
  ) {
    this.timeoutMs = o.timeoutMs ?? 2000;
    udp.on('message', (msg, peer) => {
      if (this.inFlight >= MAX_IN_FLIGHT) return;
      void this.answer(msg).then(
        (reply) => {
          if (reply && !this.closed) udp.send(reply, peer.port, peer.address, () => undefined);
        },
        () => undefined,
      );
    });
    tcp.on('connection', (socket) => this.serveTcp(socket));
  }

  /** Listens on 127.0.0.1 on a free port (the same for UDP and TCP). */
  static async start(o: DesktopResolverOptions): Promise<DesktopResolver> {
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket('udp4');
      udp.on('error', () => undefined);
      udp.bind(0, '127.0.0.1');
      await once(udp, 'listening');
      const port = udp.address().port;
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, '127.0.0.1', () => resolve());
        });
        tcp.on('error', () => undefined);
        return new DesktopResolver(udp, tcp, port, o);
      } catch (e) {
        udp.close();
        // Someone holds that TCP port: try another pair.
        if (attempt >= 20) throw e;
      }
    }
  }

  private serveTcp(socket: Socket): void {
    if (this.clients.size >= MAX_TCP_CLIENTS || this.closed) {
      socket.destroy();
      return;
    }
    this.clients.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let chain: Promise<unknown> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        // Answers go back in order, one query at a time per connection.
        chain = chain
          .then(async () => {
            const reply = this.inFlight >= MAX_IN_FLIGHT ? undefined : await this.answer(msg, 'tcp');
            if (!reply) throw new Error('no answer');
            const len = Buffer.alloc(2);
            len.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([len, reply]));
          })
          .catch(() => socket.destroy());
      }
    });
  }

  /** The reply to one query from the desktop, or undefined to say nothing (unparseable). */
  private async answer(msg: Buffer, via: 'udp' | 'tcp' = 'udp'): Promise<Buffer | undefined> {
    let q;
    try {
      q = parseQuery(msg);
    } catch {
      return undefined;
    }
    if (!this.o.policy.resolves(q.name)) return refusal(q, RCODE.NXDOMAIN);
    this.inFlight++;
    try {
      for (const upstream of this.o.upstreams) {
        if (this.closed) return undefined;
        let reply: Buffer;
        try {
          reply = via === 'udp' ? await this.askUdp(msg, q.id, upstream) : await this.askTcp(msg, upstream);
        } catch (e) {
          this.o.warn?.(`DNS server ${upstream.address}:${upstream.port} did not answer (${(e as Error).message})`);
          continue;
        }
        if (this.o.policy.learned) {
          try {
            const a = parseAnswer(reply);
            if (a.id !== q.id) throw new DnsFormatError('the answer is for another query');
            if (a.rcode === RCODE.NOERROR && a.addresses.length) await this.o.policy.learned(a.addresses);
          } catch (e) {
            this.o.warn?.(`An answer for ${q.name} could not be let through: ${(e as Error).message}`);
            return refusal(q, RCODE.SERVFAIL);
          }
        }
        return reply;
      }
      return refusal(q, RCODE.SERVFAIL);
    } finally {
      this.inFlight--;
    }
  }

  private askUdp(query: Buffer, id: number, server: DnsServer): Promise<Buffer> {
    const sock = createSocket(isIPv6(server.address) ? 'udp6' : 'udp4');
    let timer: NodeJS.Timeout | undefined;
    return new Promise<Buffer>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      sock.on('error', reject);
      sock.on('message', (m) => {
        if (m.length >= 12 && m.readUInt16BE(0) === id) resolve(m);
      });
      // Connected: only that server's datagrams reach this socket.
      sock.connect(server.port, server.address, () => sock.send(query));
    }).finally(() => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
    });
  }

  private askTcp(query: Buffer, server: DnsServer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const socket = connect(server.port, server.address);
      let buf = Buffer.alloc(0);
      socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      socket.on('error', reject);
      socket.on('close', () => reject(new Error('the connection closed before an answer')));
      socket.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        socket.write(Buffer.concat([len, query]));
      });
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length > MAX_MESSAGE + 2) return socket.destroy(new Error('answer too long'));
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          socket.end();
        }
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.clients) c.destroy();
    await Promise.all([new Promise<void>((r) => this.udp.close(() => r())), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }
}
