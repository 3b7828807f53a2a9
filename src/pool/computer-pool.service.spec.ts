import { AppConfig } from '../config/config.module';
import { ComputerProviderRegistry } from '../computer/computer.module';
import { ProgrammableFakeProvider } from '../../test/support/fake-provider';
import { ComputerPool } from './computer-pool.service';

function setup(env: Record<string, string> = {}) {
  const config = AppConfig.fromEnv({ COMPUTER_PROVIDER: 'fake', POOL_MAX_SIZE: '2', POOL_ACQUIRE_TIMEOUT_MS: '1000', ...env });
  const provider = new ProgrammableFakeProvider();
  const registry = { create: (o: { signal?: AbortSignal }) => provider.create(o) } as unknown as ComputerProviderRegistry;
  return { sut: new ComputerPool(config, registry), provider };
}

describe(ComputerPool.name, () => {
  afterEach(() => jest.useRealTimers());

  it('gives each caller its own computer up to POOL_MAX_SIZE', async () => {
    const { sut } = setup();
    const a = await sut.acquire({ owner: 'a' });
    const b = await sut.acquire({ owner: 'b' });
    expect(a.computer.id).not.toBe(b.computer.id);
    expect(sut.stats()).toMatchObject({ leased: 2, waiting: 0, max: 2 });
  });

  it('fails a waiter with POOL_EXHAUSTED after the acquire timeout instead of hanging', async () => {
    jest.useFakeTimers();
    const { sut } = setup();
    await sut.acquire({ owner: 'a' });
    await sut.acquire({ owner: 'b' });
    const third = sut.acquire({ owner: 'c' });
    const settled = expect(third).rejects.toMatchObject({ code: 'POOL_EXHAUSTED', message: expect.stringMatching(/POOL_MAX_SIZE.*cleanup_session/s) });
    expect(sut.stats().waiting).toBe(1);
    await jest.advanceTimersByTimeAsync(1000);
    await settled;
    expect(sut.stats().waiting).toBe(0);
  });

  it('serves waiters in arrival order when computers are released', async () => {
    const { sut } = setup();
    const a = await sut.acquire({ owner: 'a' });
    const b = await sut.acquire({ owner: 'b' });
    const order: string[] = [];
    const c = sut.acquire({ owner: 'c' }).then((l) => (order.push('c'), l));
    const d = sut.acquire({ owner: 'd' }).then((l) => (order.push('d'), l));
    await sut.release(a);
    await sut.release(b);
    await Promise.all([c, d]);
    expect(order).toEqual(['c', 'd']);
  });

  it('destroys a released computer and never hands it to another caller', async () => {
    const { sut, provider } = setup({ POOL_MAX_SIZE: '1' });
    const a = await sut.acquire({ owner: 'a' });
    await a.computer.typeText('secret of a');
    await sut.release(a);
    const b = await sut.acquire({ owner: 'b' });
    expect(b.computer).not.toBe(a.computer);
    expect(provider.created[0].isClosed).toBe(true);
    expect(provider.open()).toEqual([b.computer]);
  });

  it('an aborted wait leaves the queue at once and takes no computer', async () => {
    const { sut, provider } = setup({ POOL_MAX_SIZE: '1' });
    const a = await sut.acquire({ owner: 'a' });
    const ac = new AbortController();
    const waiting = sut.acquire({ owner: 'b', signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(sut.stats().waiting).toBe(0);
    await sut.release(a);
    expect(provider.open()).toHaveLength(0);
  });

  it('a failed create frees its slot and reports COMPUTER_FAILED; readiness shows a streak', async () => {
    const { sut, provider } = setup({ POOL_MAX_SIZE: '1' });
    provider.failNext = 3;
    for (let i = 0; i < 3; i++) await expect(sut.acquire({ owner: 'a' })).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
    expect(sut.problem()).toMatch(/3 computer starts failed/);
    const ok = await sut.acquire({ owner: 'a' });
    expect(ok.computer).toBeDefined();
    expect(sut.problem()).toBeNull();
  });

  it('a hanging close() does not hang release', async () => {
    jest.useFakeTimers();
    const { sut } = setup({ POOL_DESTROY_TIMEOUT_MS: '500' });
    const a = await sut.acquire({ owner: 'a' });
    a.computer.close = () => new Promise(() => undefined);
    const released = sut.release(a);
    await jest.advanceTimersByTimeAsync(500);
    await released;
    expect(sut.stats().leased).toBe(0);
  });

  it('drain fails waiters, refuses new acquires and destroys every computer exactly once', async () => {
    const { sut, provider } = setup({ POOL_MAX_SIZE: '1' });
    await sut.acquire({ owner: 'a' });
    const waiter = sut.acquire({ owner: 'b' });
    const closes = jest.spyOn(provider.created[0], 'close');
    await Promise.all([sut.drain(), sut.drain()]);
    await expect(waiter).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    await expect(sut.acquire({ owner: 'c' })).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(closes).toHaveBeenCalledTimes(1);
    expect(provider.open()).toHaveLength(0);
  });
});
