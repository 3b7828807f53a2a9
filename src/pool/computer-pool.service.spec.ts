import { Logger } from '@nestjs/common';
import { Settings } from '../config/config.module';
import { POOL_SETTINGS } from './pool.settings';
import { ComputerProviderRegistry } from '../computer/computer.module';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { ProgrammableFakeProvider } from '../../test/support/fake-provider';
import { ServingMode } from '../lifecycle/lifecycle.module';
import { ComputerPool, Lease } from './computer-pool.service';

function setup(env: Record<string, string> = {}, capacity?: number, mode?: ServingMode) {
  const config = Settings.load({
    COMPUTER_PROVIDER: 'fake',
    POOL_MAX_SIZE: '2',
    POOL_MIN_WARM: '0',
    POOL_ACQUIRE_TIMEOUT_MS: '1000',
    POOL_RETRY_BASE_MS: '100',
    POOL_RETRY_MAX_MS: '1000',
    // A share larger than the pool, so the tests of stock, waits and turns meet the pool's own limits; left unset it
    // would be the pool's capacity (see "shares between principals").
    MAX_COMPUTERS_PER_PRINCIPAL: '10',
    ...env,
  });
  const provider = new ProgrammableFakeProvider();
  const registry = { create: (o: { signal?: AbortSignal }) => provider.create(o), capacity: () => capacity } as unknown as ComputerProviderRegistry;
  const sut = new ComputerPool(config.get(POOL_SETTINGS), registry, mode);
  return { sut, provider, config };
}

/** Lets queued microtasks and zero-delay work run under fake timers. */
const flush = () => jest.advanceTimersByTimeAsync(0);

describe(ComputerPool.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  describe('leasing', () => {
    it('gives each caller its own computer up to POOL_MAX_SIZE', async () => {
      const { sut } = setup();
      const a = await sut.acquire({ owner: 'a' });
      const b = await sut.acquire({ owner: 'b' });
      expect(a.computer.id).not.toBe(b.computer.id);
      expect(sut.stats()).toMatchObject({ leased: 2, waiting: 0, max: 2, size: 2 });
    });

    it("never has more computers than the provider's capacity (e.g. one per remote URL), whatever POOL_MAX_SIZE says", async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '5' }, 2);
      const leases = await Promise.all([sut.acquire({ owner: 'a' }), sut.acquire({ owner: 'b' })]);
      const third = sut.acquire({ owner: 'c' }).catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(1000);
      expect(await third).toMatchObject({ code: 'POOL_EXHAUSTED' });
      expect(provider.created).toHaveLength(2);
      expect(sut.stats().max).toBe(2);
      await Promise.all(leases.map((l) => sut.release(l)));
    });

    it('destroys a released computer and never hands it to another caller', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '1' });
      const a = await sut.acquire({ owner: 'a' });
      await sut.release(a);
      const b = await sut.acquire({ owner: 'b' });
      expect(b.computer).not.toBe(a.computer);
      expect(provider.closeCounts.get(provider.created[0])).toBe(1);
      expect(provider.open()).toEqual([b.computer]);
      await sut.release(a); // twice is harmless
      expect(provider.closeCounts.get(provider.created[0])).toBe(1);
    });

    it('serves waiters in arrival order', async () => {
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
  });

  describe('shares between principals', () => {
    it('a principal holds or waits for at most MAX_COMPUTERS_PER_PRINCIPAL: beyond it a call fails at once with SESSION_LIMIT, others still get computers', async () => {
      const { sut } = setup({ POOL_MAX_SIZE: '4', MAX_COMPUTERS_PER_PRINCIPAL: '2' });
      const a1 = await sut.acquire({ owner: 's1', principal: 'alice' });
      await sut.acquire({ owner: 's2', principal: 'alice' });
      expect(sut.roomFor('alice')).toBe(0);
      await expect(sut.acquire({ owner: 's3', principal: 'alice' })).rejects.toMatchObject({ code: 'SESSION_LIMIT', message: expect.stringMatching(/maximum of 2 computers \(MAX_COMPUTERS_PER_PRINCIPAL\).*cleanup_session/s) });
      expect(sut.stats()).toMatchObject({ leased: 2, waiting: 0 });
      const b = await sut.acquire({ owner: 's4', principal: 'bob' });
      expect(b.principal).toBe('bob');
      expect(sut.roomFor('bob')).toBe(1);
      await sut.release(a1);
      expect(sut.roomFor('alice')).toBe(1);
      await expect(sut.acquire({ owner: 's5', principal: 'alice' })).resolves.toMatchObject({ principal: 'alice' });
    });

    it("a principal's waits count against its share until they end (timeout or abort)", async () => {
      const { sut } = setup({ POOL_MAX_SIZE: '1', MAX_COMPUTERS_PER_PRINCIPAL: '3' });
      await sut.acquire({ owner: 'b1', principal: 'bob' });
      const ac = new AbortController();
      const w1 = sut.acquire({ owner: 'a1', principal: 'alice', signal: ac.signal });
      const w2 = sut.acquire({ owner: 'a2', principal: 'alice' });
      const w3 = sut.acquire({ owner: 'a3', principal: 'alice' });
      const refusals = [expect(w1).rejects.toMatchObject({ code: 'CANCELLED' }), expect(w2).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' }), expect(w3).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' })];
      expect(sut.stats().waiting).toBe(3);
      await expect(sut.acquire({ owner: 'a4', principal: 'alice' })).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
      expect(sut.stats().waiting).toBe(3);
      ac.abort();
      await flush();
      expect(sut.roomFor('alice')).toBe(1);
      await jest.advanceTimersByTimeAsync(1000);
      await Promise.all(refusals);
      expect(sut.roomFor('alice')).toBe(3);
      expect(sut.stats().waiting).toBe(0);
    });

    it('with every cap unset, a principal holds or waits for at most the pool\'s capacity: one more fails at once with SESSION_LIMIT', async () => {
      const { sut } = setup({ POOL_MAX_SIZE: '5', MAX_COMPUTERS_PER_PRINCIPAL: '' }, 2);
      expect(sut.maxPerPrincipal()).toBe(2);
      const held = await sut.acquire({ owner: 's1', principal: 'alice' });
      const waiting = sut.acquire({ owner: 's2', principal: 'alice' });
      await flush();
      await expect(sut.acquire({ owner: 's3', principal: 'alice' })).rejects.toMatchObject({ code: 'SESSION_LIMIT', message: expect.stringMatching(/maximum of 2 computers/) });
      await sut.release(held);
      await sut.release(await waiting);
    });

    it('serves waiting principals in turns, each one in arrival order, rather than in request order', async () => {
      const { sut } = setup({ POOL_MAX_SIZE: '1', POOL_ACQUIRE_TIMEOUT_MS: '60000' });
      const first = await sut.acquire({ owner: 'first', principal: 'zed' });
      const order: string[] = [];
      const leases = new Map<string, Promise<Lease>>();
      // alice asks three times before bob and carol ask at all.
      for (const [owner, principal] of [['a1', 'alice'], ['a2', 'alice'], ['a3', 'alice'], ['b1', 'bob'], ['c1', 'carol'], ['b2', 'bob']]) {
        leases.set(owner, sut.acquire({ owner, principal }).then((l) => (order.push(owner), l)));
      }
      let held = first;
      for (let i = 0; i < leases.size; i++) {
        await sut.release(held);
        await flush();
        expect(order).toHaveLength(i + 1);
        held = await leases.get(order[i])!;
      }
      expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
      await sut.release(held);
    });

    it('one principal alone is served in arrival order, as before', async () => {
      const { sut } = setup({ POOL_MAX_SIZE: '1', POOL_ACQUIRE_TIMEOUT_MS: '60000' });
      const handoffs: number[] = [];
      sut.events.on('handoff', (ticket) => handoffs.push(ticket));
      let held = await sut.acquire({ owner: 'x', principal: 'alice' });
      const waits = ['w1', 'w2', 'w3'].map((owner) => sut.acquire({ owner, principal: 'alice' }));
      for (const w of waits) {
        await sut.release(held);
        held = await w;
      }
      expect(handoffs).toEqual([...handoffs].sort((a, b) => a - b));
      expect(held.owner).toBe('w3');
    });
  });

  describe('warm stock', () => {
    it('keeps POOL_MIN_WARM computers ready, leases them at once and replenishes in the background', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '4', POOL_MIN_WARM: '2' });
      sut.onApplicationBootstrap();
      await flush();
      expect(sut.stats()).toMatchObject({ idle: 2, leased: 0, creating: 0 });
      provider.createDelayMs = 500;
      const lease = await sut.acquire({ owner: 'a' });
      expect(lease.warm).toBe(true);
      expect(sut.stats()).toMatchObject({ idle: 1, leased: 1, creating: 1 });
      await jest.advanceTimersByTimeAsync(500);
      expect(sut.stats()).toMatchObject({ idle: 2, leased: 1, creating: 0 });
      expect(sut.metrics().acquire_warm.count).toBe(1);
    });

    it('over stdio, makes no computer before the first acquire (a probing client starts the process only to ask), then keeps POOL_MIN_WARM', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '4', POOL_MIN_WARM: '1' }, undefined, new ServingMode(true));
      sut.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(10_000);
      expect(provider.created).toHaveLength(0);
      expect(sut.stats()).toMatchObject({ idle: 0, creating: 0 });
      const lease = await sut.acquire({ owner: 'a' });
      expect(lease.warm).toBe(false);
      await flush();
      expect(sut.stats()).toMatchObject({ idle: 1, leased: 1 });
      expect(provider.created).toHaveLength(2);
    });

    it('never keeps more than POOL_MAX_SIZE in all', async () => {
      const { sut } = setup({ POOL_MAX_SIZE: '2', POOL_MIN_WARM: '2' });
      sut.onApplicationBootstrap();
      await flush();
      const a = await sut.acquire({ owner: 'a' });
      const b = await sut.acquire({ owner: 'b' });
      await flush();
      expect(sut.stats()).toMatchObject({ size: 2, idle: 0, leased: 2 });
      await sut.release(a);
      await flush();
      expect(sut.stats()).toMatchObject({ size: 2, idle: 1, leased: 1 });
      await sut.release(b);
    });

    it('an aborted wait leaves the queue at once, and the computer made for it goes to stock', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '1' });
      provider.createDelayMs = 100;
      const ac = new AbortController();
      const waiting = sut.acquire({ owner: 'a', signal: ac.signal });
      await jest.advanceTimersByTimeAsync(50);
      ac.abort();
      await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(sut.stats().waiting).toBe(0);
      await jest.advanceTimersByTimeAsync(50);
      expect(sut.stats()).toMatchObject({ idle: 1 });
      const next = await sut.acquire({ owner: 'b' });
      expect(next.computer).toBe(provider.created[0]);
      expect(next.warm).toBe(true);
    });

    it('retires idle computers after POOL_IDLE_TIMEOUT_MS and replaces them', async () => {
      const { sut, provider } = setup({ POOL_MIN_WARM: '1', POOL_IDLE_TIMEOUT_MS: '5000' });
      sut.onApplicationBootstrap();
      await flush();
      expect(provider.created).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(5000);
      expect(provider.created[0].isClosed).toBe(true);
      expect(provider.open()).toEqual([provider.created[1]]);
      expect(sut.metrics().retirements).toBe(1);
    });

    it('retires stock before POOL_MAX_LIFETIME_MS, at jittered times', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '20', POOL_MIN_WARM: '20', POOL_MAX_LIFETIME_MS: '10000', POOL_IDLE_TIMEOUT_MS: '1000000' });
      sut.onApplicationBootstrap();
      await flush();
      const first = provider.created.slice(0, 20);
      await jest.advanceTimersByTimeAsync(8999);
      expect(first.filter((c) => c.isClosed)).toHaveLength(0);
      const closedAt: number[] = [];
      for (let t = 9000; t <= 10000; t += 100) {
        await jest.advanceTimersByTimeAsync(100);
        closedAt.push(first.filter((c) => c.isClosed).length);
      }
      expect(closedAt[closedAt.length - 1]).toBe(20);
      expect(new Set(closedAt).size).toBeGreaterThan(3); // not all at once
    });

    it('never retires a leased computer', async () => {
      const { sut } = setup({ POOL_IDLE_TIMEOUT_MS: '1000', POOL_MAX_LIFETIME_MS: '2000' });
      const lease = await sut.acquire({ owner: 'a' });
      await jest.advanceTimersByTimeAsync(10_000);
      expect(await lease.computer.isAlive()).toBe(true);
      expect(sut.stats().leased).toBe(1);
    });
  });

  describe('validation on borrow', () => {
    it('destroys a dead idle computer and leases a live one instead', async () => {
      const { sut, provider } = setup({ POOL_MIN_WARM: '1' });
      sut.onApplicationBootstrap();
      await flush();
      await jest.advanceTimersByTimeAsync(2000);
      provider.created[0].kill();
      const lease = await sut.acquire({ owner: 'a' });
      expect(lease.computer).toBe(provider.created[1]);
      expect(await lease.computer.isAlive()).toBe(true);
      expect(provider.closeCounts.get(provider.created[0])).toBe(1);
      expect(sut.metrics().validation_failures).toBe(1);
    });

    it('a check that hangs is cut off by POOL_VALIDATE_TIMEOUT_MS', async () => {
      const { sut, provider } = setup({ POOL_MIN_WARM: '1', POOL_VALIDATE_TIMEOUT_MS: '200' });
      sut.onApplicationBootstrap();
      await flush();
      await jest.advanceTimersByTimeAsync(2000);
      provider.created[0].isAlive = () => new Promise(() => undefined);
      const leased = sut.acquire({ owner: 'a' });
      await jest.advanceTimersByTimeAsync(200);
      const lease = await leased;
      expect(lease.computer).toBe(provider.created[1]);
    });

    it('when every check fails the pool does not grow past its size', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '3', POOL_MIN_WARM: '2' });
      provider.deadOnArrival = true;
      sut.onApplicationBootstrap();
      let maxSize = 0;
      for (let i = 0; i < 10; i++) {
        await jest.advanceTimersByTimeAsync(2000);
        const lease = await sut.acquire({ owner: `s${i}` });
        maxSize = Math.max(maxSize, sut.stats().size, provider.open().length);
        await sut.release(lease);
      }
      expect(maxSize).toBeLessThanOrEqual(3);
      expect(provider.open().length).toBeLessThanOrEqual(3);
    });
  });

  describe('bounded waits', () => {
    it('fails a waiter with POOL_EXHAUSTED after the acquire timeout instead of hanging', async () => {
      const { sut } = setup();
      await sut.acquire({ owner: 'a' });
      await sut.acquire({ owner: 'b' });
      const third = sut.acquire({ owner: 'c' });
      const settled = expect(third).rejects.toMatchObject({ code: 'POOL_EXHAUSTED', message: expect.stringMatching(/1000 ms.*POOL_MAX_SIZE.*cleanup_session/s) });
      expect(sut.stats().waiting).toBe(1);
      await jest.advanceTimersByTimeAsync(1000);
      await settled;
      expect(sut.stats().waiting).toBe(0);
    });

    it('rejects at once when POOL_MAX_WAITERS are already waiting', async () => {
      const { sut } = setup({ POOL_MAX_SIZE: '1', POOL_MAX_WAITERS: '1' });
      await sut.acquire({ owner: 'a' });
      const queued = expect(sut.acquire({ owner: 'b' })).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
      await expect(sut.acquire({ owner: 'c' })).rejects.toMatchObject({ code: 'POOL_QUEUE_FULL', message: expect.stringMatching(/POOL_MAX_WAITERS=1/) });
      await jest.advanceTimersByTimeAsync(1000);
      await queued;
    });

    it('a create that hangs is cut off by POOL_CREATE_TIMEOUT_MS, and the late computer is destroyed', async () => {
      const { sut, provider } = setup({ POOL_CREATE_TIMEOUT_MS: '300', POOL_ACQUIRE_TIMEOUT_MS: '5000' });
      provider.createDelayMs = 1000;
      const attempt = sut.acquire({ owner: 'a' });
      const failed = expect(attempt).rejects.toMatchObject({ code: 'COMPUTER_FAILED', message: expect.stringMatching(/POOL_CREATE_TIMEOUT_MS/) });
      await jest.advanceTimersByTimeAsync(300);
      await failed;
      // The fake honours the abort signal, so nothing is left; nothing counts as in use either.
      await jest.advanceTimersByTimeAsync(1000);
      expect(provider.open()).toHaveLength(0);
    });

    it('a hanging close() does not hang release', async () => {
      const { sut } = setup({ POOL_DESTROY_TIMEOUT_MS: '500' });
      const a = await sut.acquire({ owner: 'a' });
      a.computer.close = () => new Promise(() => undefined);
      const released = sut.release(a);
      await jest.advanceTimersByTimeAsync(500);
      await released;
      expect(sut.stats()).toMatchObject({ leased: 0, size: 0 });
      expect(sut.metrics().destroy_failures).toBe(1);
    });
  });

  describe('create failures', () => {
    it('the oldest waiter gets the create error at once, retries back off, and readiness reports the streak', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '1', POOL_ACQUIRE_TIMEOUT_MS: '20000' });
      provider.failAlways = true;
      const t0 = Date.now();
      await expect(sut.acquire({ owner: 'a' })).rejects.toMatchObject({ code: 'COMPUTER_FAILED', message: expect.stringMatching(/simulated create failure/) });
      expect(Date.now() - t0).toBeLessThan(100);
      // The next caller waits out the backoff (not its whole timeout), then gets the next failure.
      for (const owner of ['b', 'c']) {
        const started = Date.now();
        const attempt = expect(sut.acquire({ owner })).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
        await jest.advanceTimersByTimeAsync(1000);
        await attempt;
        expect(Date.now() - started).toBeLessThan(1000 + 1);
      }
      expect(provider.attempts).toBe(3);
      expect(sut.problem()).toMatch(/last 3 computer starts failed: simulated create failure/);
      provider.failAlways = false;
      await jest.advanceTimersByTimeAsync(1000);
      await expect(sut.acquire({ owner: 'd' })).resolves.toBeDefined();
      expect(sut.problem()).toBeNull();
    });

    it('a provider with no capacity now (POOL_EXHAUSTED) is busy, not broken: waiters keep waiting and readiness stays green', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '1', POOL_ACQUIRE_TIMEOUT_MS: '20000', POOL_RETRY_BASE_MS: '200' });
      let busy = true;
      let busyAnswers = 0;
      const create = provider.create.bind(provider);
      provider.create = async (o) => {
        if (!busy) return create(o);
        busyAnswers++;
        throw new DomainError(DomainErrorCode.POOL_EXHAUSTED, 'all remote computers are in use');
      };
      let got: Lease | undefined;
      const waiting = sut.acquire({ owner: 'a' }).then((l) => (got = l));
      await jest.advanceTimersByTimeAsync(5000);
      expect(got).toBeUndefined();
      expect(sut.stats().waiting).toBe(1);
      expect(sut.problem()).toBeNull();
      // Asked again every POOL_RETRY_BASE_MS, not in a tight loop and not with a growing backoff.
      expect(busyAnswers).toBeGreaterThanOrEqual(20);
      expect(busyAnswers).toBeLessThanOrEqual(27);
      busy = false;
      await jest.advanceTimersByTimeAsync(250);
      await waiting;
      expect(got?.computer.id).toBe('t-1');
      expect(sut.metrics().create_failures).toBe(0);
    });

    it('with a warm target and a provider that always fails, stock creation backs off too', async () => {
      const { sut, provider } = setup({ POOL_MIN_WARM: '2', POOL_RETRY_MAX_MS: '2000' });
      provider.failAlways = true;
      sut.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(60_000);
      // One probe at a time, 1–2 s apart once the backoff is capped: about 40; a tight loop would make thousands.
      expect(provider.attempts).toBeLessThan(70);
      provider.failAlways = false;
      await jest.advanceTimersByTimeAsync(3000);
      expect(sut.stats().idle).toBe(2);
      expect(sut.problem()).toBeNull();
    });
  });

  it('warns once about a lease held longer than POOL_LEASE_WARN_MS, naming the session', async () => {
    const { sut } = setup({ POOL_LEASE_WARN_MS: '1000' });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const lease = await sut.acquire({ owner: 'ses_forgotten' });
    await jest.advanceTimersByTimeAsync(1500);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/leased by session ses_forgotten for more than 1000 ms/));
    await sut.release(lease);
    warn.mockRestore();
  });

  describe('drain', () => {
    it('fails waiters, refuses new acquires, waits for leases up to the grace period, destroys everything exactly once, leaves no timer', async () => {
      const { sut, provider } = setup({ POOL_MAX_SIZE: '3', POOL_MIN_WARM: '1' });
      sut.onApplicationBootstrap();
      await flush();
      const a = await sut.acquire({ owner: 'a' }); // from stock
      const b = await sut.acquire({ owner: 'b' });
      await flush();
      const c = await sut.acquire({ owner: 'c' });
      const waiter = sut.acquire({ owner: 'd' });
      const waiterFails = expect(waiter).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
      const drained = Promise.all([sut.drain(1000), sut.drain(1000)]);
      await waiterFails;
      await expect(sut.acquire({ owner: 'e' })).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
      await jest.advanceTimersByTimeAsync(100);
      await sut.release(a); // released within the grace period
      await jest.advanceTimersByTimeAsync(1000);
      await drained;
      expect(provider.open()).toHaveLength(0);
      for (const computer of provider.created) expect(provider.closeCounts.get(computer)).toBe(1);
      expect([b, c].every((l: Lease) => l.computer.isAlive)).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
      expect(sut.stats()).toMatchObject({ size: 0 });
    });

    it('drain stops a computer still being made (its create is aborted) instead of waiting for it', async () => {
      const { sut, provider } = setup({ POOL_MIN_WARM: '1' });
      provider.createDelayMs = 60_000;
      sut.onApplicationBootstrap();
      await sut.drain();
      expect(provider.attempts).toBe(1);
      expect(provider.created).toHaveLength(0);
      expect(sut.stats()).toMatchObject({ size: 0, creating: 0 });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('a computer still being made when drain starts, by a provider that cannot stop, is destroyed when it arrives', async () => {
      const { sut, provider } = setup({ POOL_MIN_WARM: '1' });
      provider.createDelayMs = 500;
      provider.ignoreAbort = true;
      sut.onApplicationBootstrap();
      const drained = sut.drain();
      await jest.advanceTimersByTimeAsync(500);
      await drained;
      expect(provider.created).toHaveLength(1);
      expect(provider.closeCounts.get(provider.created[0])).toBe(1);
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
