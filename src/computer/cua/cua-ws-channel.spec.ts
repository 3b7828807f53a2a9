import { createServer, Server, Socket } from 'node:net';
import { FakeCuaPeer } from '../../../test/support/fake-cua-peer';
import { waitFor } from '../../../test/support/wait-for';
import { DomainError } from '../../common/domain-error';
import { CuaWsChannel } from './cua-ws-channel';

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as DomainError);

/** Opening `/ws`: what a refused upgrade and a cancelled connect come to. */
describe(CuaWsChannel.name, () => {
  let peer: FakeCuaPeer;
  beforeEach(async () => {
    peer = await FakeCuaPeer.start();
  });
  afterEach(async () => {
    await peer.close();
  });

  it('reads a refused upgrade from the response: 401 and 403 are an auth problem naming the settings to check', async () => {
    peer.refuseWs = 401;
    const e = await failure(CuaWsChannel.open({ url: peer.url }, { timeoutMs: 2000 }));
    expect(e).toMatchObject({ code: 'COMPUTER_FAILED', kind: 'auth' });
    expect(e.message).toMatch(/refused the WebSocket connection \(HTTP 401\)\. Check CUA_API_KEY and CUA_CONTAINER_NAME/);
  });

  it('any other status means the server has no WebSocket, with the status for the fallback to POST /cmd', async () => {
    peer.refuseWs = 404;
    const e = await failure(CuaWsChannel.open({ url: peer.url }, { timeoutMs: 2000 }));
    expect(e).toMatchObject({ code: 'COMPUTER_FAILED', kind: 'unreachable', httpStatus: 404 });
    expect(e.message).toMatch(/does not offer a WebSocket at \/ws \(HTTP 404\)/);
    expect(peer.connections).toBe(0);
  });

  describe('against a server that never answers the upgrade', () => {
    let silent: Server;
    const sockets = new Set<Socket>();
    beforeEach(async () => {
      silent = createServer((s) => sockets.add(s.on('close', () => sockets.delete(s))));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    });
    afterEach(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    });
    const url = () => `http://127.0.0.1:${(silent.address() as { port: number }).port}`;

    it('a connect cancelled half-way rejects with the reason, and the abandoned handshake throws nothing later', async () => {
      const uncaught: unknown[] = [];
      const onUncaught = (e: unknown) => uncaught.push(e);
      process.on('uncaughtException', onUncaught);
      try {
        const ac = new AbortController();
        const opening = CuaWsChannel.open({ url: url() }, { timeoutMs: 5000, signal: ac.signal });
        await waitFor('the TCP connection (the upgrade stays unanswered)', () => sockets.size === 1);
        ac.abort(new DomainError('CANCELLED', 'The caller gave up.'));
        expect(await failure(opening)).toMatchObject({ code: 'CANCELLED', message: 'The caller gave up.' });
        await new Promise((r) => setImmediate(r));
        expect(uncaught).toEqual([]);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
    });

    it('times out with the time it waited', async () => {
      const e = await failure(CuaWsChannel.open({ url: url() }, { timeoutMs: 200 }));
      expect(e).toMatchObject({ code: 'TIMEOUT', kind: 'timeout' });
      expect(e.message).toMatch(/did not accept a WebSocket connection within 200 ms/);
    });
  });
});
