import { FakeCuaPeer } from '../../../test/support/fake-cua-peer';
import { CuaClient } from './cua-client';

/** Queueing on one connection (the protocol has no request ids). */
describe(CuaClient.name, () => {
  let peer: FakeCuaPeer;
  let sut: CuaClient;
  beforeEach(async () => {
    peer = await FakeCuaPeer.start();
    sut = new CuaClient({ url: peer.url }, { requestTimeoutMs: 2000, reconnectBaseMs: 10, reconnectMaxMs: 50 });
    await sut.start();
  });
  afterEach(async () => {
    sut.close();
    await peer.close();
  });

  it('puts one request on the wire at a time and matches replies in order', async () => {
    let mostOutstanding = 0;
    peer.handler = (req) => {
      mostOutstanding = Math.max(mostOutstanding, peer.outstanding + 1);
      return { reply: { success: true, echo: req.params?.n }, delayMs: 20 };
    };
    const replies = await Promise.all([1, 2, 3, 4, 5].map((n) => sut.request('version', { n })));
    expect(replies.map((r) => r.echo)).toEqual([1, 2, 3, 4, 5]);
    expect(peer.requests.map((r) => r.params?.n)).toEqual([1, 2, 3, 4, 5]);
    expect(mostOutstanding).toBe(1);
  });

  it('after the connection drops, the request on the wire fails and the queued ones go out on a new connection', async () => {
    peer.handler = (req) => (req.params?.n === 1 ? { close: true } : undefined);
    const results = await Promise.allSettled([1, 2, 3].map((n) => sut.request('version', { n })));
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'COMPUTER_FAILED', message: expect.stringMatching(/closed/) } });
    expect(results.slice(1).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(peer.connections).toBe(2);
    expect(peer.requests.map((r) => r.params?.n)).toEqual([1, 2, 3]);
  });

  it('after close() nothing more is sent', async () => {
    sut.close();
    await expect(sut.request('version')).rejects.toMatchObject({ message: expect.stringMatching(/was closed/) });
    expect(peer.requests).toEqual([]);
  });
});
