import { DomainError } from '../common/domain-error';
import { CheckedComputer } from './checked-computer';
import { Computer, MouseButton } from './computer.port';
import { FakeComputer } from './fake/fake-computer';

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as DomainError);

describe(CheckedComputer.name, () => {
  let desktop: FakeComputer;
  let sut: CheckedComputer;
  beforeEach(() => {
    desktop = new FakeComputer('f1', { width: 320, height: 200 });
    sut = new CheckedComputer(desktop);
  });
  /** What reached the desktop beyond reading its size. */
  const actions = () => desktop.log.filter((l) => l !== 'screenSize');

  it.each<[string, (c: Computer) => Promise<unknown>, string | RegExp]>([
    ['a point off the screen', (c) => c.click({ x: 320, y: 10 }, 'left', 1), 'The point (320, 10) is outside the 320x200 screen; use 0 ≤ x < 320 and 0 ≤ y < 200.'],
    ['a point that is not numbers', (c) => c.moveMouse({ x: Number.NaN, y: 1 }), 'The point needs numeric x and y.'],
    ['a click count other than 1, 2 or 3', (c) => c.click({ x: 1, y: 1 }, 'left', 4), 'Click count must be 1, 2 or 3, not 4.'],
    ['an unknown button', (c) => c.mouseDown('thumb' as MouseButton), 'Unknown mouse button "thumb"; use left, right or middle.'],
    ['a drag of one point', (c) => c.drag([{ x: 1, y: 1 }], 'left'), 'A drag needs a path of at least two points (start and end).'],
    ['a drag point off the screen, named', (c) => c.drag([{ x: 1, y: 1 }, { x: 5, y: 500 }], 'left'), /^The drag point #2 \(5, 500\) is outside the 320x200 screen/],
    ['a fraction of a wheel click', (c) => c.scroll({ x: 1, y: 1 }, 0, 1.5), 'Scroll dy must be a whole number of wheel clicks between -100 and 100, not 1.5.'],
    ['too many wheel clicks', (c) => c.scroll({ x: 1, y: 1 }, -101, 0), /Scroll dx must be a whole number of wheel clicks between -100 and 100/],
    ['text that is not a string', (c) => c.typeText(5 as unknown as string), 'Text to type must be a string.'],
    ['no keys', (c) => c.pressKeys([]), 'At least one key is required, e.g. ["Return"].'],
    ['an unknown key', (c) => c.setKeys(['Control_L', 'Hyperdrive'], true), 'Unknown key "Hyperdrive".'],
    ['a hold longer than a minute', (c) => c.holdKeys(['a'], 60_001), 'Hold duration must be between 0 and 60000 ms, not 60001.'],
    ['an empty command', (c) => c.runCommand('  '), 'A command is required, e.g. "ls -la".'],
    ['a timeout that is not positive', (c) => c.runCommand('true', { timeoutMs: 0 }), 'Command timeout must be a positive number of milliseconds, not 0.'],
    ['a program without argv', (c) => c.runProgram([]), 'A program needs argv: a non-empty list of strings.'],
    ['clipboard text that is not a string', (c) => c.setClipboard(null as unknown as string), 'Clipboard text must be a string.'],
    ['an empty background command', (c) => c.launch(''), 'A command is required, e.g. "xterm" or "firefox https://example.com".'],
  ])('refuses %s with INVALID_ARGUMENT saying what is allowed, before the desktop sees it', async (_case, call, message) => {
    const e = await failure(call(sut));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
    expect(actions()).toEqual([]);
  });

  it('passes good input on, with points rounded to whole pixels', async () => {
    await sut.click({ x: 10.4, y: 5.6 }, 'left', 2);
    await sut.drag([{ x: 0, y: 0 }, { x: 319.4, y: 199 }], 'right');
    await sut.scroll({ x: 3, y: 4 }, 0, -100);
    await sut.pressKeys(['Control_L', 'c']);
    expect(actions()).toEqual(['click left x2 10,6', 'drag right 0,0 319,199', 'scroll 0,-100 at 3,4', 'key Control_L+c']);
    expect((await sut.runCommand('echo hi')).stdout).toBe('hi\n');
  });

  it('checks points against the screen as it is now', async () => {
    const small = new CheckedComputer(new FakeComputer('f2', { width: 10, height: 10 }));
    expect((await failure(small.moveMouse({ x: 10, y: 0 }))).message).toMatch(/outside the 10x10 screen/);
    await small.moveMouse({ x: 9, y: 9 });
  });

  it('answers what the computer does itself: the rest is COMPUTER_UNSUPPORTED from the base class, naming the provider', async () => {
    expect(['settle', 'launch', 'setClipboard', 'runProgram'].map((op) => sut.supports(op as 'settle'))).toEqual([true, false, false, false]);
    const e = await failure(sut.launch('xterm'));
    expect(e).toMatchObject({ code: 'COMPUTER_UNSUPPORTED', message: 'Computers of the fake provider cannot run programs in the background; run the command without background.' });
    expect((await failure(sut.setClipboard('x'))).code).toBe('COMPUTER_UNSUPPORTED');
    expect((await failure(sut.runProgram(['cat']))).code).toBe('COMPUTER_UNSUPPORTED');
  });

  it('a computer that overrides an operation supports it', () => {
    class WithClipboard extends FakeComputer {
      override async setClipboard(): Promise<void> {}
    }
    expect(new CheckedComputer(new WithClipboard('f3', { width: 1, height: 1 })).supports('setClipboard')).toBe(true);
  });
});
