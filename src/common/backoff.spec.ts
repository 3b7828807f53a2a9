import { backoffDelay } from './backoff';

describe(backoffDelay.name, () => {
  const limits = { baseMs: 100, maxMs: 1000 };

  it('doubles from the base up to the cap', () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, limits, top))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('waits at least half of each step and less than the whole step (jitter)', () => {
    expect([0, 1, 2].map((n) => backoffDelay(n, limits, () => 0))).toEqual([50, 100, 200]);
    expect(backoffDelay(1, limits, () => 0.5)).toBe(150);
  });

  it('stays at the cap however many attempts failed, and treats a negative attempt as the first', () => {
    expect(backoffDelay(10_000, limits, () => 0.999999)).toBe(1000);
    expect(backoffDelay(-1, limits, () => 0)).toBe(50);
  });
});
