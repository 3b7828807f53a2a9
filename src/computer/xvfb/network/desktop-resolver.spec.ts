import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { FakeDns, startFakeDns } from '../../../../test/support/fake-dns';
import { DesktopResolver } from './desktop-resolver';
import { DnsFormatError, parseAnswer, parseQuery, RCODE, refusal, TYPE_A } from './dns-message';

function query(id: number, name: string, type = TYPE_A): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([header, ...labels, tail]);
}

/** Sends one datagram and waits for the answer; undefined when none comes within `ms`. */
function askUdp(port: number, msg: Buffer, ms = 3000): Promise<Buffer | undefined> {
  const sock = createSocket('udp4');
  return new Promise<Buffer | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    sock.on('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    sock.send(msg, port, '127.0.0.1');
  }).finally(() => sock.close());
}

function askTcp(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      s.write(Buffer.concat([len, msg]));
    });
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        s.end();
      }
    });
  });
}

describe('DNS messages', () => {
  it('reads the question of a query and answers it with a bare response code', () => {
    const q = parseQuery(query(0x1234, 'WWW.Example.COM'));
    expect(q).toMatchObject({ id: 0x1234, name: 'www.example.com', type: TYPE_A });
    const r = refusal(q, RCODE.NXDOMAIN);
    expect(r.readUInt16BE(0)).toBe(0x1234);
    expect(r.readUInt16BE(2)).toBe(0x8183); // response, recursion desired + available, NXDOMAIN
    expect(r.readUInt16BE(6)).toBe(0);
    expect(parseAnswer(r)).toEqual({ id: 0x1234, rcode: RCODE.NXDOMAIN, addresses: [] });
  });

  it('refuses what is not one standard question, and malformed names, without reading past the message', () => {
    const answerNotQuery = Buffer.from(query(1, 'a.b'));
    answerNotQuery.writeUInt16BE(0x8100, 2);
    const twoQuestions = Buffer.from(query(1, 'a.b'));
    twoQuestions.writeUInt16BE(2, 4);
    const loop = Buffer.concat([query(1, 'a').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    for (const bad of [Buffer.alloc(5), answerNotQuery, twoQuestions, query(1, 'a.b').subarray(0, 16), loop, Buffer.concat([query(1, 'x').subarray(0, 12), Buffer.from([64])])]) {
      expect(() => parseQuery(bad)).toThrow(DnsFormatError);
    }
  });

  it('finds the IPv4 and IPv6 addresses of an answer, through compressed names', () => {
    const q = query(7, 'cdn.example');
    const header = Buffer.from(q.subarray(0, 12));
    header.writeUInt16BE(0x8180, 2);
    header.writeUInt16BE(3, 6);
    const rr = (type: number, data: number[], ttl: number) => {
      const b = Buffer.alloc(12 + data.length);
      b.writeUInt16BE(0xc00c, 0);
      b.writeUInt16BE(type, 2);
      b.writeUInt16BE(1, 4);
      b.writeUInt32BE(ttl, 6);
      b.writeUInt16BE(data.length, 10);
      Buffer.from(data).copy(b, 12);
      return b;
    };
    const msg = Buffer.concat([header, q.subarray(12), rr(5, [0xc0, 12], 30), rr(1, [203, 0, 113, 9], 40), rr(28, [0x20, 0x01, 0x0d, 0xb8, ...Array<number>(11).fill(0), 1], 50)]);
    expect(parseAnswer(msg).addresses).toEqual([
      { family: 4, address: '203.0.113.9', ttl: 40 },
      { family: 6, address: '2001:db8:0:0:0:0:0:1', ttl: 50 },
    ]);
    expect(() => parseAnswer(msg.subarray(0, msg.length - 3))).toThrow(DnsFormatError);
  });
});

describe(DesktopResolver.name, () => {
  let upstream: FakeDns;
  let sut: DesktopResolver | undefined;
  beforeAll(async () => {
    upstream = await startFakeDns({ 'allowed.test': '203.0.113.2', 'www.allowed.test': '203.0.113.3', 'bad.allowed.test': '203.0.113.4' }, 42);
  });
  afterAll(() => upstream.close());
  afterEach(async () => {
    await sut?.close();
    sut = undefined;
  });

  it('answers refused names with NXDOMAIN without asking upstream, and forwards the rest (UDP and TCP)', async () => {
    sut = await DesktopResolver.start({
      upstreams: [{ address: '127.0.0.1', port: upstream.port }],
      policy: { resolves: (name) => name.endsWith('allowed.test') && !name.startsWith('bad.') },
    });
    const ok = parseAnswer((await askUdp(sut.port, query(1, 'www.allowed.test')))!);
    expect(ok).toEqual({ id: 1, rcode: RCODE.NOERROR, addresses: [{ family: 4, address: '203.0.113.3', ttl: 42 }] });
    expect(parseAnswer(await askTcp(sut.port, query(2, 'allowed.test'))).addresses.map((a) => a.address)).toEqual(['203.0.113.2']);
    for (const [id, name] of [[3, 'bad.allowed.test'], [4, 'elsewhere.example']] as const) {
      expect(parseAnswer((await askUdp(sut.port, query(id, name)))!)).toEqual({ id, rcode: RCODE.NXDOMAIN, addresses: [] });
    }
    expect(upstream.asked.has('bad.allowed.test')).toBe(false);
    expect(upstream.asked.has('elsewhere.example')).toBe(false);
    // Garbage gets no answer, and breaks nothing.
    expect(await askUdp(sut.port, Buffer.from('not dns at all'), 300)).toBeUndefined();
    expect(parseAnswer((await askUdp(sut.port, query(5, 'allowed.test')))!).rcode).toBe(RCODE.NOERROR);
  });

  it('lets an answer through only once what it learned is in place, and fails it when that fails', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const learned: string[] = [];
    let fail = false;
    sut = await DesktopResolver.start({
      upstreams: [{ address: '127.0.0.1', port: upstream.port }],
      policy: {
        resolves: () => true,
        learned: async (addresses) => {
          if (fail) throw new Error('nft said no');
          await gate;
          learned.push(...addresses.map((a) => a.address));
        },
      },
    });
    const pending = askUdp(sut.port, query(9, 'allowed.test'));
    // The upstream answered, but the desktop hears nothing while the address is not pinned yet.
    await expect(askUdp(sut.port, query(10, 'www.allowed.test'), 500)).resolves.toBeUndefined();
    expect(learned).toEqual([]);
    release();
    expect(parseAnswer((await pending)!).addresses.map((a) => a.address)).toEqual(['203.0.113.2']);
    expect(learned).toContain('203.0.113.2');
    fail = true;
    expect(parseAnswer((await askUdp(sut.port, query(11, 'allowed.test')))!).rcode).toBe(RCODE.SERVFAIL);
  });

  it('answers SERVFAIL when no upstream answers, trying each in turn', async () => {
    const silent = createSocket('udp4');
    silent.bind(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    try {
      const warnings: string[] = [];
      sut = await DesktopResolver.start({
        upstreams: [{ address: '127.0.0.1', port: silent.address().port }, { address: '127.0.0.1', port: upstream.port }],
        policy: { resolves: () => true },
        timeoutMs: 200,
        warn: (m) => warnings.push(m),
      });
      expect(parseAnswer((await askUdp(sut.port, query(12, 'allowed.test')))!).addresses).toHaveLength(1);
      expect(warnings[0]).toMatch(/did not answer \(no answer within 200 ms\)/);
      await sut.close();
      sut = await DesktopResolver.start({ upstreams: [{ address: '127.0.0.1', port: silent.address().port }], policy: { resolves: () => true }, timeoutMs: 200 });
      expect(parseAnswer((await askUdp(sut.port, query(13, 'allowed.test')))!).rcode).toBe(RCODE.SERVFAIL);
    } finally {
      silent.close();
    }
  });
});
