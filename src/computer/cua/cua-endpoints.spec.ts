import { CuaEndpointPool } from './cua-endpoints';

describe(CuaEndpointPool.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const setup = () => {
    const lines: string[] = [];
    const sut = new CuaEndpointPool([{ url: 'http://a:8000', apiKey: 'secret-key' }, { url: 'http://b:8000' }], {
      probeBaseMs: 1000,
      probeMaxMs: 8000,
      log: { log: (m) => lines.push(m), warn: (m) => lines.push(`WARN ${m}`) },
    });
    return { sut, lines };
  };

  it('hands out the endpoint free for longest, one lease at a time, and logs each change without the key', () => {
    const { sut, lines } = setup();
    const [a] = sut.free();
    sut.lease(a);
    expect(() => sut.lease(a)).toThrow(/leased, not free/);
    const [b] = sut.free();
    expect(b.host).toBe('http://b:8000');
    sut.lease(b);
    expect(sut.free()).toEqual([]);
    sut.release(a);
    sut.release(b);
    expect(sut.free().map((s) => s.host)).toEqual(['http://a:8000', 'http://b:8000']);
    expect(lines).toContain('Remote computer http://a:8000: free → leased (1 free, 1 leased, 0 quarantined)');
    expect(lines.join('\n')).not.toContain('secret-key');
  });

  it('probes a quarantined endpoint with growing delays until it recovers, then frees it and tells listeners', async () => {
    const { sut, lines } = setup();
    const [a] = sut.free();
    sut.lease(a);
    let answers = false;
    const probes: number[] = [];
    const t0 = Date.now();
    const freed = jest.fn();
    sut.onFree(freed);
    sut.quarantine(a, 'its reset failed', async () => {
      probes.push(Date.now() - t0);
      if (!answers) throw new Error('connection refused');
    });
    expect(sut.counts()).toEqual({ free: 1, leased: 0, quarantined: 1 });
    expect(lines.at(-1)).toMatch(/^WARN Remote computer http:\/\/a:8000: leased → quarantined: its reset failed/);
    await jest.advanceTimersByTimeAsync(1000 + 2000 + 4000);
    expect(probes.length).toBe(3);
    // Each wait is at least half of its doubling step (jitter) and never more than the step.
    const gaps = probes.map((t, i) => t - (probes[i - 1] ?? 0));
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(500 * 2 ** i));
    expect(sut.statuses()[0]).toMatchObject({ state: 'quarantined', reason: expect.stringMatching(/last probe: connection refused/) });
    answers = true;
    await jest.advanceTimersByTimeAsync(8000);
    expect(sut.statuses()[0].state).toBe('free');
    expect(freed).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stop() clears the probe timers and aborts a probe in flight', async () => {
    const { sut } = setup();
    const [a, b] = sut.free();
    sut.lease(a);
    sut.lease(b);
    let seen: AbortSignal | undefined;
    sut.quarantine(a, 'x', async () => Promise.reject(new Error('down')));
    sut.quarantine(b, 'y', (signal) => {
      seen = signal;
      return new Promise(() => undefined);
    });
    await jest.advanceTimersByTimeAsync(1000);
    expect(seen?.aborted).toBe(false);
    sut.stop();
    expect(seen?.aborted).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});
