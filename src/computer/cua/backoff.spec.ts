import { Backoff } from './backoff';

describe(Backoff.name, () => {
  it('doubles from the base up to the cap, with jitter in [0.5, 1) of each step', () => {
    const top = new Backoff(100, 1000, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    const bottom = new Backoff(100, 1000, () => 0);
    expect([1, 2, 3].map(() => bottom.next())).toEqual([50, 100, 200]);
  });

  it('starts again from the base after a success', () => {
    const sut = new Backoff(100, 1000, () => 0.999999);
    sut.next();
    sut.next();
    expect(sut.attempts).toBe(2);
    sut.reset();
    expect(sut.attempts).toBe(0);
    expect(sut.next()).toBe(100);
  });
});
