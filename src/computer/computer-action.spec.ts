import { Settings } from '../config/config.module';
import { COMPUTER_SETTINGS } from './computer.settings';
import { ComputerActionRunner, describeSettle, settleJson, SETTLES_AFTER } from './computer-action';
import { Computer, SettleOptions, SettleResult } from './computer.port';
import { FakeComputer } from './fake/fake-computer';
import { ScreenshotService } from './screenshot.service';
import { NoTracing } from '../tracing/tracing.module';

describe(ComputerActionRunner.name, () => {
  const runner = (env: Record<string, string> = {}) => {
    const settings = Settings.load(env).get(COMPUTER_SETTINGS);
    return new ComputerActionRunner(new ScreenshotService(settings), settings, new NoTracing());
  };
  /** A computer whose settle() only records what it was asked. */
  const recording = () => {
    const asked: SettleOptions[] = [];
    class Recording extends FakeComputer {
      override settle(o: SettleOptions): Promise<SettleResult> {
        asked.push(o);
        return Promise.resolve({ waitedMs: 12, hitCap: false, changed: true });
      }
    }
    return { computer: new Recording('rec', { width: 8, height: 8 }), asked };
  };

  it('passes the SCREENSHOT_SETTLE_* settings to the computer, with a longer first-change window when asked (at most the cap)', async () => {
    const sut = runner({ SCREENSHOT_SETTLE_QUIET_MS: '80', SCREENSHOT_SETTLE_FIRST_CHANGE_MS: '250', SCREENSHOT_SETTLE_MAX_MS: '1500' });
    const { computer, asked } = recording();
    const signal = new AbortController().signal;
    await expect(sut.settle(computer, 123, signal)).resolves.toEqual({ waitedMs: 12, hitCap: false, changed: true });
    await sut.settle(computer, 456, undefined, 10_000);
    expect(asked).toEqual([
      { since: 123, quietMs: 80, maxMs: 1500, firstChangeMs: 250, signal },
      { since: 456, quietMs: 80, maxMs: 1500, firstChangeMs: 1500, signal: undefined },
    ]);
  });

  it('does not wait when SCREENSHOT_SETTLE_MAX_MS is 0, or when the provider cannot', async () => {
    const { computer, asked } = recording();
    await expect(runner({ SCREENSHOT_SETTLE_MAX_MS: '0' }).settle(computer, 0)).resolves.toBeUndefined();
    expect(asked).toEqual([]);
    const cannot = { id: 'old', supports: () => false, settle: () => Promise.reject(new Error('not to be asked')) } as unknown as Computer;
    await expect(runner().settle(cannot, 0)).resolves.toBeUndefined();
  });

  it('the fake computer draws during the action, so it never waits, and tells whether the screen changed since the action began', async () => {
    const sut = runner();
    const c = new FakeComputer('settle', { width: 320, height: 200 });
    let since = performance.now();
    await c.typeText('hi');
    expect(await sut.settle(c, since)).toEqual({ waitedMs: 0, hitCap: false, changed: true });
    since = performance.now() + 1;
    await c.scroll({ x: 5, y: 5 }, 0, 1);
    expect(await sut.settle(c, since)).toEqual({ waitedMs: 0, hitCap: false, changed: false });
    const ac = new AbortController();
    ac.abort();
    await expect(sut.settle(c, since, ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    c.kill();
    await expect(sut.settle(c, since)).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
  });

  it('settles after every action that changes the screen except wait (the model chose its own wait)', () => {
    expect([...SETTLES_AFTER].sort()).toEqual(
      ['double_click', 'hold_key', 'key', 'left_click', 'left_click_drag', 'left_mouse_down', 'left_mouse_up', 'middle_click', 'mouse_move', 'right_click', 'scroll', 'triple_click', 'type'].sort(),
    );
  });

  it('says how the wait ended, in words and as JSON', () => {
    expect(describeSettle({ waitedMs: 63, hitCap: false, changed: true })).toBe('the screen changed and settled after 63 ms');
    expect(describeSettle({ waitedMs: 300, hitCap: false, changed: false })).toBe('the screen did not change within 300 ms');
    expect(describeSettle({ waitedMs: 2001, hitCap: true, changed: true })).toMatch(/^the screen was still changing after 2001 ms \(SCREENSHOT_SETTLE_MAX_MS\)/);
    expect(describeSettle({ waitedMs: 500, hitCap: false })).toMatch(/^waited a fixed 500 ms/);
    expect(settleJson({ waitedMs: 5, hitCap: true, changed: true })).toEqual({ waited_ms: 5, hit_cap: true, changed: true });
    expect(settleJson({ waitedMs: 500, hitCap: false })).toEqual({ waited_ms: 500, hit_cap: false });
  });
});
