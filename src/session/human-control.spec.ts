import { DomainError, DomainErrorCode } from '../common/domain-error';
import { ControlReleaseReason, HumanControl } from './human-control';

const IDLE_MS = 120_000;

function setup() {
  const owner = { id: 'work', kind: 'named' as const, endReason: undefined, touched: 0, touch: () => void owner.touched++ };
  const sut = new HumanControl(owner, IDLE_MS);
  const seen: string[] = [];
  sut.events.on('taken', (holder) => seen.push(`taken by ${holder}`));
  sut.events.on('released', (holder: string, reason: ControlReleaseReason) => seen.push(`released from ${holder} (${reason})`));
  return { sut, seen, owner };
}

/** Follows a promise so a test can ask whether it has settled yet, and how. */
function track(promise: Promise<void>) {
  const state: { settled: boolean; error?: unknown } = { settled: false };
  promise.then(
    () => (state.settled = true),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** Lets every callback already due run (promise jobs, immediates), without moving any clock. */
const oneTurn = () => new Promise((r) => setImmediate(r));

describe(HumanControl.name, () => {
  afterEach(() => jest.useRealTimers());

  it('one controller at a time: a second person is refused with a message naming who holds control', () => {
    const { sut, seen } = setup();
    expect(sut.heldBy).toBeUndefined();
    expect(sut.take('alice (live view)')).toBe(true);
    expect(sut.heldBy).toBe('alice (live view)');
    expect(sut.heldSince).toEqual(expect.any(Number));
    const refused = (() => {
      try {
        sut.take('bob (live view)');
      } catch (e) {
        return e;
      }
    })();
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({
      code: DomainErrorCode.SESSION_UNDER_HUMAN_CONTROL,
      heldBy: 'alice (live view)',
      message: expect.stringMatching(/A person \(alice \(live view\)\) is controlling the desktop of session "work".*taking control was refused.*after 120 s without their input/),
    });
    expect(sut.heldBy).toBe('alice (live view)');
    // Taking again what one already holds is no new take-over.
    expect(sut.take('alice (live view)')).toBe(false);
    expect(sut.takeovers).toBe(1);
    expect(seen).toEqual(['taken by alice (live view)']);
  });

  it('a holder releases only its own control; release() without a holder takes it from whoever has it', () => {
    const { sut, seen } = setup();
    expect(sut.release()).toBeUndefined();
    sut.take('alice');
    expect(sut.release('bob')).toBeUndefined();
    expect(sut.heldBy).toBe('alice');
    expect(sut.release('alice')).toBe('alice');
    expect(sut.heldBy).toBeUndefined();
    expect(sut.heldSince).toBeUndefined();
    sut.take('bob');
    expect(sut.release()).toBe('bob');
    expect(sut.takeovers).toBe(2);
    expect(seen).toEqual(['taken by alice', 'released from alice (holder)', 'taken by bob', 'released from bob (tool)']);
  });

  it('refuseWhileHeld refuses while someone holds control, and says what was refused', () => {
    const { sut } = setup();
    expect(() => sut.refuseWhileHeld('run_command')).not.toThrow();
    sut.take('alice');
    expect(() => sut.refuseWhileHeld('run_command')).toThrow(/\(alice\) is controlling .* so run_command was refused/);
    sut.release();
    expect(() => sut.refuseWhileHeld('run_command')).not.toThrow();
  });

  it('control returns on its own after LIVE_VIEW_CONTROL_IDLE_MS without input; each input starts that time again', async () => {
    jest.useFakeTimers();
    const { sut, seen, owner } = setup();
    sut.take('alice');
    await jest.advanceTimersByTimeAsync(IDLE_MS - 1000);
    sut.noteInput();
    // The person's use keeps the session from the idle sweep.
    expect(owner.touched).toBe(2);
    await jest.advanceTimersByTimeAsync(IDLE_MS - 1000);
    expect(sut.heldBy).toBe('alice');
    // Taking again what one holds counts as input too.
    sut.take('alice');
    await jest.advanceTimersByTimeAsync(IDLE_MS - 1);
    expect(sut.heldBy).toBe('alice');
    await jest.advanceTimersByTimeAsync(1);
    expect(sut.heldBy).toBeUndefined();
    expect(seen).toEqual(['taken by alice', 'released from alice (idle)']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('input while nobody holds control changes nothing, and a release stops the idle timer', async () => {
    jest.useFakeTimers();
    const { sut, seen, owner } = setup();
    sut.noteInput();
    expect(owner.touched).toBe(0);
    sut.take('alice');
    expect(jest.getTimerCount()).toBe(1);
    sut.release('alice');
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(IDLE_MS * 2);
    expect(seen).toEqual(['taken by alice', 'released from alice (holder)']);
  });

  it("the agent's turn comes at once when nobody holds control, and otherwise only once control is handed back", async () => {
    const { sut } = setup();
    const free = track(sut.agentTurn(new AbortController().signal));
    await oneTurn();
    expect(free).toEqual({ settled: true });

    sut.take('alice');
    const waiting = track(sut.agentTurn(new AbortController().signal));
    await oneTurn();
    expect(waiting.settled).toBe(false);
    sut.release();
    await oneTurn();
    expect(waiting).toEqual({ settled: true });
  });

  it("a wait for the agent's turn stops when its signal aborts, with the signal's reason", async () => {
    const { sut } = setup();
    sut.take('alice');
    const ac = new AbortController();
    const waiting = track(sut.agentTurn(ac.signal));
    await oneTurn();
    ac.abort();
    await oneTurn();
    expect(waiting.error).toMatchObject({ code: DomainErrorCode.CANCELLED });
    const timedOut = new DomainError(DomainErrorCode.TIMEOUT, 'too late');
    await expect(sut.agentTurn(AbortSignal.abort(timedOut))).rejects.toBe(timedOut);
    // Still held: the aborted waits are gone, a release wakes nobody twice.
    expect(sut.release()).toBe('alice');
  });

  it('ending the session releases control (session-ended), clears the idle timer, wakes the agent, and refuses new takes', async () => {
    jest.useFakeTimers();
    const { sut, seen, owner } = setup();
    sut.take('alice');
    const waiting = track(sut.agentTurn(new AbortController().signal));
    Object.assign(owner, { endReason: 'cleanup' });
    sut.close();
    await jest.advanceTimersByTimeAsync(0);
    expect(waiting).toEqual({ settled: true });
    expect(sut.heldBy).toBeUndefined();
    expect(jest.getTimerCount()).toBe(0);
    expect(seen).toEqual(['taken by alice', 'released from alice (session-ended)']);
    expect(() => sut.take('alice')).toThrow(expect.objectContaining({ code: DomainErrorCode.SESSION_ENDED }));
    sut.close();
    expect(seen).toHaveLength(2);
  });
});
