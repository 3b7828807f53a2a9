import { isDomainError } from '../../common/domain-error';
import { SettleOptions, SettleResult } from '../computer.port';
import { IDLE_REARM_MS, ScreenChanges, ScreenChangeSource } from './screen-changes';
import { X11ClosedError } from './x11-connection';

/** A change source the test drives: `change()` is a DAMAGE notice, as an X connection would send it once re-armed. */
class FakeSource implements ScreenChangeSource {
  onChange: () => void = () => {
    throw new Error('not watched');
  };
  rearms = 0;
  private closeListener: (reason: string) => void = () => undefined;
  watchScreen(onChange: () => void) {
    this.onChange = onChange;
    return Promise.resolve({ rearm: () => void this.rearms++ });
  }
  onClose(listener: (reason: string) => void) {
    this.closeListener = listener;
  }
  change() {
    this.onChange();
  }
  close(reason: string) {
    this.closeListener(reason);
  }
}

const OPTIONS = { quietMs: 50, maxMs: 2000, firstChangeMs: 300 };

describe(ScreenChanges.name, () => {
  let source: FakeSource;
  let sut: ScreenChanges;
  beforeEach(async () => {
    jest.useFakeTimers();
    source = new FakeSource();
    sut = await ScreenChanges.watch(source);
  });
  afterEach(() => jest.useRealTimers());

  /** Starts a settle for actions that began now; `done()` is its result once it has one. */
  function settle(extra: Partial<SettleOptions> = {}) {
    let result: SettleResult | undefined;
    let error: unknown;
    const p = sut.settle({ since: performance.now(), ...OPTIONS, ...extra }).then(
      (r) => void (result = r),
      (e: unknown) => void (error = e),
    );
    return { p, done: () => result, error: () => error };
  }

  it('no change at all: ends after the first-change window, not the cap, and says nothing changed', async () => {
    const s = settle();
    await jest.advanceTimersByTimeAsync(299);
    expect(s.done()).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(s.done()).toEqual({ waitedMs: 300, hitCap: false, changed: false });
  });

  it('a change: ends once the screen has been still for the quiet period after the last change', async () => {
    const s = settle();
    await jest.advanceTimersByTimeAsync(20);
    source.change();
    await jest.advanceTimersByTimeAsync(30);
    source.change(); // at 50 ms: quiet again from here
    await jest.advanceTimersByTimeAsync(49);
    expect(s.done()).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(s.done()).toEqual({ waitedMs: 100, hitCap: false, changed: true });
  });

  it('a change made during the action (before settle was called) counts, so a fast action waits only the quiet period', async () => {
    const since = performance.now();
    await jest.advanceTimersByTimeAsync(10);
    source.change();
    await jest.advanceTimersByTimeAsync(5);
    let result: SettleResult | undefined;
    void sut.settle({ since, ...OPTIONS }).then((r) => (result = r));
    // Nobody waited when the notice came, so drawing may have gone on until now: quiet is counted from here.
    await jest.advanceTimersByTimeAsync(49);
    expect(result).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(result).toEqual({ waitedMs: 50, hitCap: false, changed: true });
  });

  it('changes from before the action began do not count', async () => {
    source.change();
    await jest.advanceTimersByTimeAsync(IDLE_REARM_MS + 10);
    const s = settle();
    await jest.advanceTimersByTimeAsync(300);
    expect(s.done()).toEqual({ waitedMs: 300, hitCap: false, changed: false });
  });

  it('a screen that never stops changing: ends at the cap and says so', async () => {
    const s = settle();
    for (let t = 0; t < 2100 && !s.done(); t += 10) {
      source.change();
      await jest.advanceTimersByTimeAsync(10);
    }
    expect(s.done()).toEqual({ waitedMs: 2000, hitCap: true, changed: true });
  });

  it('a first change late in the window still gets its quiet period', async () => {
    const s = settle();
    await jest.advanceTimersByTimeAsync(290);
    source.change();
    await jest.advanceTimersByTimeAsync(20);
    expect(s.done()).toBeUndefined();
    await jest.advanceTimersByTimeAsync(30);
    expect(s.done()).toEqual({ waitedMs: 340, hitCap: false, changed: true });
  });

  it('firstChangeMs as long as the cap (a program opening its window) ends at the cap without claiming it was hit', async () => {
    const s = settle({ firstChangeMs: 2000 });
    await jest.advanceTimersByTimeAsync(2000);
    expect(s.done()).toEqual({ waitedMs: 2000, hitCap: false, changed: false });
  });

  it('while a settle waits, each notice is re-armed at once; while none waits, only after IDLE_REARM_MS, counted as a change then', async () => {
    source.change();
    expect(source.rearms).toBe(0);
    await jest.advanceTimersByTimeAsync(IDLE_REARM_MS);
    expect(source.rearms).toBe(1);
    // The held-back drawing is dated at the re-arm: a settle whose actions began before it sees a change.
    const since = performance.now() - 1;
    let result: SettleResult | undefined;
    void sut.settle({ since, ...OPTIONS }).then((r) => (result = r));
    await jest.advanceTimersByTimeAsync(50);
    expect(result).toMatchObject({ changed: true });

    const s = settle();
    source.change();
    source.change();
    expect(source.rearms).toBe(3);
    await jest.advanceTimersByTimeAsync(50);
    expect(s.done()).toMatchObject({ changed: true });
    // A settle that starts while a re-arm is held back re-arms at once.
    source.change();
    expect(source.rearms).toBe(3);
    const t = settle();
    expect(source.rearms).toBe(4);
    await jest.advanceTimersByTimeAsync(50);
    expect(t.done()).toMatchObject({ changed: true, waitedMs: 50 });
  });

  it('cancelling ends the wait at once with CANCELLED', async () => {
    const ac = new AbortController();
    const s = settle({ signal: ac.signal });
    await jest.advanceTimersByTimeAsync(10);
    ac.abort();
    await s.p;
    expect(isDomainError(s.error(), 'CANCELLED')).toBe(true);
    ac.abort();
    await expect(sut.settle({ since: 0, ...OPTIONS, signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('the connection closing ends waits with X11ClosedError, and later settles fail at once', async () => {
    const s = settle();
    source.close('the X server went away');
    await s.p;
    expect(s.error()).toBeInstanceOf(X11ClosedError);
    await expect(sut.settle({ since: 0, ...OPTIONS })).rejects.toThrow(/the X server went away/);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses options that are not finite, non-negative milliseconds', async () => {
    for (const bad of [{ quietMs: -1 }, { maxMs: Number.NaN }, { firstChangeMs: Infinity }, { since: Number.NaN }]) {
      const err: unknown = await sut.settle({ since: 0, ...OPTIONS, ...bad }).catch((e: unknown) => e);
      expect(isDomainError(err, 'INVALID_ARGUMENT')).toBe(true);
      expect((err as Error).message).toMatch(new RegExp(`Settle option ${Object.keys(bad)[0]} must be`));
    }
  });
});
