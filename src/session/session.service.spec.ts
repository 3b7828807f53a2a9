import { Logger } from '@nestjs/common';
import { sleep } from '../common/async';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { Settings } from '../config/config.module';
import { POOL_SETTINGS } from '../pool/pool.settings';
import { SESSION_SETTINGS } from './session.settings';
import { ComputerProviderRegistry } from '../computer/computer.module';
import { DrainState } from '../lifecycle/lifecycle.module';
import { ComputerPool } from '../pool/pool.module';
import { ProgrammableFakeProvider } from '../../test/support/fake-provider';
import { waitFor } from '../../test/support/wait-for';
import { CLUSTER_SETTINGS } from '../cluster/cluster.settings';
import { InMemoryReplicaDirectory, InMemorySessionRegistry, RegistryUnavailableError, ThisReplica, type Admission, type AdmissionResult, type SessionRecord } from '../cluster/cluster.module';
import { SessionService } from './session.service';

/** A fake registry for unit tests: the in-memory one, which can be made to answer as an unreachable Redis does. */
class UnreachableRegistryFake extends InMemorySessionRegistry {
  down = false;
  private check() {
    if (this.down) throw new RegistryUnavailableError('127.0.0.1:6379', 'the connection is down and the server is reconnecting');
  }
  override async admit(a: Admission): Promise<AdmissionResult> {
    this.check();
    return super.admit(a);
  }
  override async touch(principal: string, id: string, now: number): Promise<SessionRecord | undefined> {
    this.check();
    return super.touch(principal, id, now);
  }
  override async end(principal: string, id: string): Promise<SessionRecord | undefined> {
    this.check();
    return super.end(principal, id);
  }
}

/** Every replica a test joined: they leave after it (their lease timers stop). */
const replicas: ThisReplica[] = [];
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((r) => r.leave()));
});

/**
 * `capacity`: the provider's own limit (a `cua` provider's number of URLs); none by default. `shared`: the directory
 * and registry of several replicas (each setup one, with its own REPLICA_ID in `env`); a fresh pair by default.
 */
async function setup(env: Record<string, string> = {}, capacity?: number, shared?: { directory: InMemoryReplicaDirectory; registry: UnreachableRegistryFake }) {
  const settings = Settings.load({ COMPUTER_PROVIDER: 'fake', POOL_MAX_SIZE: '3', POOL_MIN_WARM: '0', MAX_SESSIONS: '3', POOL_ACQUIRE_TIMEOUT_MS: '300', ...env });
  const config = { pool: settings.get(POOL_SETTINGS), session: settings.get(SESSION_SETTINGS) };
  const directory = shared?.directory ?? new InMemoryReplicaDirectory();
  const replica = new ThisReplica(directory, settings.get(CLUSTER_SETTINGS));
  await replica.onApplicationBootstrap();
  replicas.push(replica);
  const provider = new ProgrammableFakeProvider();
  const registry = { create: (o: { signal?: AbortSignal }) => provider.create(o), capacity: () => capacity, handleOf: () => undefined } as unknown as ComputerProviderRegistry;
  const pool = new ComputerPool(config.pool, registry);
  const drain = new DrainState();
  const sessions = shared?.registry ?? new UnreachableRegistryFake(directory);
  return { sut: new SessionService(config.session, config.pool, pool, drain, sessions, replica, directory), pool, provider, drain, sessions, replica };
}
const ref = (sessionId?: string, connectionId = 'conn-1', principal = 'anonymous') => ({ principal, sessionId, connectionId });

/** Follows a promise so a test can ask whether it has settled yet, and how. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** Lets every callback already due run (promise jobs, I/O, immediates): what follows happened without waiting for any timer. */
const oneTurn = () => new Promise((r) => setImmediate(r));

describe(SessionService.name, () => {
  it('the same session_id reaches the same computer; another id gets another one', async () => {
    const { sut } = await setup();
    const a1 = await sut.resolve(ref('alpha'));
    const a2 = await sut.resolve(ref('alpha', 'conn-2'));
    const b = await sut.resolve(ref('beta'));
    expect(sut.computerOf(a2)).toBe(sut.computerOf(a1));
    expect(sut.computerOf(b)).not.toBe(sut.computerOf(a1));
  });

  it('without session_id, one default session per connection, reused on every call', async () => {
    const { sut } = await setup();
    const first = await sut.resolve(ref(undefined, 'c1'));
    const again = await sut.resolve(ref(undefined, 'c1'));
    const other = await sut.resolve(ref(undefined, 'c2'));
    expect(again).toBe(first);
    expect(other.id).not.toBe(first.id);
    expect(sut.count()).toBe(2);
  });

  it('callers racing on a new session_id share one session and one computer', async () => {
    const { sut, provider } = await setup();
    provider.createDelayMs = 20;
    const [x, y] = await Promise.all([sut.resolve(ref('same')), sut.resolve(ref('same'))]);
    expect(x).toBe(y);
    expect(provider.created).toHaveLength(1);
  });

  it('over MAX_SESSIONS a new session fails at once with SESSION_LIMIT, and existing ones still work', async () => {
    const { sut, pool } = await setup();
    for (const id of ['s1', 's2', 's3']) await sut.resolve(ref(id));
    // At once: settled within one turn of the event loop, before any timer could fire, and never queued for a computer.
    const s4 = track(sut.resolve(ref('s4')));
    await oneTurn();
    expect(s4).toMatchObject({ settled: true, error: { code: 'SESSION_LIMIT', message: expect.stringMatching(/MAX_SESSIONS.*cleanup_session/s) } });
    expect(pool.stats()).toMatchObject({ waiting: 0, creating: 0 });
    await expect(sut.resolve(ref('s1'))).resolves.toBeDefined();
  });

  it('over MAX_SESSIONS_PER_PRINCIPAL one principal gets SESSION_LIMIT naming the setting while another still gets sessions', async () => {
    const { sut } = await setup({ MAX_SESSIONS: '3', MAX_SESSIONS_PER_PRINCIPAL: '2' });
    await sut.resolve(ref('a1', 'c', 'alice'));
    await sut.create('alice');
    await expect(sut.resolve(ref('a3', 'c', 'alice'))).rejects.toMatchObject({ code: 'SESSION_LIMIT', message: expect.stringMatching(/MAX_SESSIONS_PER_PRINCIPAL/) });
    await expect(sut.create('alice')).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    await expect(sut.resolve(ref('b1', 'c', 'bob'))).resolves.toMatchObject({ principal: 'bob' });
    expect(sut.list('alice')).toHaveLength(2);
    await sut.end('alice', 'a1', 'cleanup');
    await expect(sut.resolve(ref('a3', 'c', 'alice'))).resolves.toMatchObject({ id: 'a3' });
  });

  it('the same session_id under two principals is two sessions with two computers', async () => {
    const { sut } = await setup();
    const a = await sut.resolve(ref('shared', 'c1', 'alice'));
    const b = await sut.resolve(ref('shared', 'c2', 'bob'));
    expect(a).not.toBe(b);
    expect(sut.computerOf(a)).not.toBe(sut.computerOf(b));
    expect(sut.list('alice').map((s) => s.principal)).toEqual(['alice']);
    const minted = await sut.create('alice');
    await expect(sut.resolve(ref(minted.id, 'c2', 'bob'))).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('an unknown server-minted id is not created on use', async () => {
    const { sut } = await setup();
    const minted = await sut.create('anonymous');
    await sut.end('anonymous', minted.id, 'cleanup');
    await expect(sut.resolve(ref(minted.id))).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('the same id under two principals gives two separate sessions', async () => {
    const { sut } = await setup();
    const a = await sut.resolve(ref('shared', 'c', 'alice'));
    const b = await sut.resolve(ref('shared', 'c', 'bob'));
    expect(sut.computerOf(a)).not.toBe(sut.computerOf(b));
    expect(sut.list('alice').map((s) => s.id)).toEqual(['shared']);
  });

  it('end aborts running tasks, destroys the computer, and is idempotent (no deadlock)', async () => {
    const { sut, provider } = await setup();
    const s = await sut.resolve(ref('t'));
    const task = sut.runTask(s, 'long', undefined, (signal) => sleep(60_000, signal));
    const ended = await sut.end('anonymous', 't', 'cleanup');
    await expect(task).rejects.toMatchObject({
      code: 'SESSION_ENDED',
      message: expect.stringMatching(/ended by cleanup_session while this call was running.*Call again with session_id "t" once cleanup_session has returned/),
    });
    expect(ended).toMatchObject({ ended: true, abortedTasks: 1 });
    expect(provider.open()).toHaveLength(0);
    expect(await sut.end('anonymous', 't', 'cleanup')).toMatchObject({ ended: false });
  });

  it('the idle sweep ends idle sessions but never one with a running task', async () => {
    const { sut, provider } = await setup({ SESSION_IDLE_TIMEOUT_MS: '1000' });
    const idle = await sut.resolve(ref('idle'));
    const busy = await sut.resolve(ref('busy'));
    const ac = new AbortController();
    const task = sut.runTask(busy, 'long', ac.signal, (signal) => sleep(60_000, signal));
    const later = Date.now() + 5000;
    expect(await sut.sweep(later)).toEqual(['idle']);
    expect(sut.get('anonymous', 'busy')).toBe(busy);
    expect(sut.get('anonymous', 'idle')).toBeUndefined();
    expect(provider.open()).toEqual([sut.computerOf(busy)]);
    ac.abort();
    await expect(task).rejects.toBeDefined();
    expect(idle.ended).toBe(true);
  });

  describe('a principal\'s one default session (2026 era: defaultSessionId)', () => {
    const shared = (sessions: InMemorySessionRegistry, yes: boolean) => Object.defineProperty(sessions, 'shared', { value: yes });
    const modern = (connectionId: string) => ({ principal: 'alice', connectionId, defaultSessionId: 'ses_AAAAAAAAAAAAAAAAAAAAAA' });

    it('in one process: every connection of the principal gets that id, and one computer', async () => {
      const { sut, provider } = await setup();
      const a = await sut.resolve(modern('modern:alice'));
      const b = await sut.resolve(modern('other'));
      expect([a.id, b.id]).toEqual(['ses_AAAAAAAAAAAAAAAAAAAAAA', 'ses_AAAAAAAAAAAAAAAAAAAAAA']);
      expect(provider.created).toHaveLength(1);
    });

    it('sharing a registry without forwarding (no CLUSTER_PORT): a default session minted here, as each replica keeps its own', async () => {
      const { sut, sessions } = await setup();
      shared(sessions, true);
      const s = await sut.resolve(modern('modern:alice'));
      expect(s.id).not.toBe('ses_AAAAAAAAAAAAAAAAAAAAAA');
      expect((await sut.resolve(modern('modern:alice'))).id).toBe(s.id);
    });
  });

  describe('default sessions (calls without session_id)', () => {
    const timeouts = { DEFAULT_SESSION_IDLE_TIMEOUT_MS: '2000', SESSION_IDLE_TIMEOUT_MS: '60000' };
    afterEach(() => jest.restoreAllMocks());

    it('one unaddressed for DEFAULT_SESSION_IDLE_TIMEOUT_MS ends and frees its computer; a named session of the same age stays', async () => {
      const { sut, provider } = await setup(timeouts);
      const t0 = Date.now();
      const def = await sut.resolve(ref(undefined, 'c1'));
      const named = await sut.resolve(ref('kept', 'c2'));
      expect(sut.view(def).idle_timeout_ms).toBe(2000);
      expect(sut.view(named).idle_timeout_ms).toBe(60000);
      expect(await sut.sweep(t0 + 1000)).toEqual([]);
      expect(await sut.sweep(t0 + 10_000)).toEqual([def.id]);
      expect(def).toMatchObject({ ended: true, endReason: 'idle' });
      expect(provider.open()).toEqual([sut.computerOf(named)]);
      expect(sut.count()).toBe(1);
    });

    it('a call that addresses it counts as use; one with a running task is never swept', async () => {
      const { sut } = await setup(timeouts);
      const t0 = Date.now();
      const def = await sut.resolve(ref(undefined, 'c1'));
      jest.spyOn(Date, 'now').mockReturnValue(t0 + 1500);
      expect(await sut.resolve(ref(undefined, 'c1'))).toBe(def);
      expect(await sut.sweep(t0 + 3000)).toEqual([]);
      const task = sut.runTask(def, 'long', undefined, (signal) => sleep(60_000, signal));
      expect(await sut.sweep(t0 + 60_000)).toEqual([]);
      expect(def.ended).toBe(false);
      await sut.end('anonymous', def.id, 'cleanup');
      await expect(task).rejects.toMatchObject({ code: 'SESSION_ENDED' });
    });

    it('its idle time counts from when it got its computer, so a slow start does not get it swept at once', async () => {
      const { sut, provider } = await setup({ DEFAULT_SESSION_IDLE_TIMEOUT_MS: '1000', POOL_ACQUIRE_TIMEOUT_MS: '5000' });
      provider.createDelayMs = 600;
      const def = await sut.resolve(ref(undefined, 'c1'));
      expect(await sut.sweep(Date.now() + 600)).toEqual([]);
      expect(await sut.sweep(Date.now() + 1100)).toEqual([def.id]);
    });

    it('after the sweep the same connection\'s next id-less call gets a new default session with a fresh computer', async () => {
      const { sut, provider } = await setup(timeouts);
      const def = await sut.resolve(ref(undefined, 'c1'));
      const first = sut.computerOf(def);
      await sut.sweep(Date.now() + 10_000);
      expect(sut.find(ref(undefined, 'c1'))).toBeUndefined();
      const again = await sut.resolve(ref(undefined, 'c1'));
      expect(again.id).not.toBe(def.id);
      expect(sut.computerOf(again)).not.toBe(first);
      expect(provider.open()).toEqual([sut.computerOf(again)]);
      await sut.sweep(Date.now() + 10_000);
      expect(provider.open()).toEqual([]);
    });
  });

  describe('MAX_SESSIONS and the pool', () => {
    afterEach(() => jest.restoreAllMocks());

    it('unset, it is the pool\'s capacity (the provider\'s own limit when lower): the session beyond it gets SESSION_LIMIT at once, not a wait', async () => {
      const { sut, pool } = await setup({ MAX_SESSIONS: '', POOL_MAX_SIZE: '5' }, 2);
      expect(sut.maxSessions()).toBe(2);
      await sut.resolve(ref('a'));
      await sut.resolve(ref('b'));
      const third = track(sut.resolve(ref('c')));
      await oneTurn();
      expect(third).toMatchObject({ settled: true, error: { code: 'SESSION_LIMIT', message: expect.stringMatching(/maximum of 2 sessions \(MAX_SESSIONS\)/) } });
      expect(pool.stats()).toMatchObject({ leased: 2, waiting: 0 });
    });

    it('given, it stays as given; above the pool\'s capacity it is warned about once at start', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const over = (await setup({ MAX_SESSIONS: '10', POOL_MAX_SIZE: '5' })).sut;
      expect(over.maxSessions()).toBe(10);
      over.onApplicationBootstrap();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/MAX_SESSIONS=10 is above the pool's capacity of 5 computers.*beyond 5 wait.*POOL_EXHAUSTED/);
      (await setup({ MAX_SESSIONS: '5', POOL_MAX_SIZE: '5' })).sut.onApplicationBootstrap();
      (await setup({ MAX_SESSIONS: '', POOL_MAX_SIZE: '5' })).sut.onApplicationBootstrap();
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('MAX_SESSIONS_PER_PRINCIPAL still limits one principal when MAX_SESSIONS follows the pool', async () => {
      const { sut } = await setup({ MAX_SESSIONS: '', MAX_SESSIONS_PER_PRINCIPAL: '1', POOL_MAX_SIZE: '3' });
      await sut.resolve(ref('a1', 'c', 'alice'));
      await expect(sut.resolve(ref('a2', 'c', 'alice'))).rejects.toMatchObject({ code: 'SESSION_LIMIT', message: expect.stringMatching(/MAX_SESSIONS_PER_PRINCIPAL/) });
      await expect(sut.resolve(ref('b1', 'c', 'bob'))).resolves.toBeDefined();
    });
  });

  it('a closed connection ends its default session but not named ones', async () => {
    const { sut } = await setup();
    const def = await sut.resolve(ref(undefined, 'c9'));
    await sut.resolve(ref('keep', 'c9'));
    await sut.endConnection('c9');
    expect(def.ended).toBe(true);
    expect(sut.get('anonymous', 'keep')).toBeDefined();
  });

  it('drain lets tasks finish within grace, aborts the rest, and frees every computer', async () => {
    const { sut, provider, drain } = await setup();
    const s1 = await sut.resolve(ref('quick'));
    const s2 = await sut.resolve(ref('slow'));
    let finishQuick!: () => void;
    const quick = sut.runTask(s1, 'quick', undefined, () => new Promise<void>((r) => (finishQuick = r)).then(() => 'ok'));
    const slow = sut.runTask(s2, 'slow', undefined, (signal) => sleep(60_000, signal));
    const draining = sut.drainAll(300);
    finishQuick(); // the quick task ends during the grace period, the slow one outlasts it
    const r = await draining;
    expect(drain.draining).toBe(true);
    await expect(quick).resolves.toBe('ok');
    await expect(slow).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(r).toEqual({ finished: 1, aborted: 1 });
    expect(provider.open()).toHaveLength(0);
    await expect(sut.resolve(ref('new'))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });

  describe('the session registry (records, caps, use, the idle sweep)', () => {
    const T = 1_800_000_000_000;
    afterEach(() => jest.restoreAllMocks());

    it('admits through the registry: a session recorded there by someone else counts against MAX_SESSIONS', async () => {
      const { sut, sessions, pool } = await setup();
      await sessions.admit({ id: 'elsewhere', principal: 'bob', kind: 'named', idleTimeoutMs: 60_000, now: Date.now(), limits: { maxSessions: 3, maxSessionsPerPrincipal: 3 } });
      await sut.resolve(ref('s1'));
      await sut.resolve(ref('s2'));
      await expect(sut.resolve(ref('s3'))).rejects.toMatchObject({ code: 'SESSION_LIMIT', message: expect.stringMatching(/maximum of 3 sessions \(MAX_SESSIONS\)/) });
      expect(pool.stats()).toMatchObject({ leased: 2, waiting: 0 });
      expect(await sut.total()).toBe(3);
    });

    it('records each session with its kind and idle timeout, and removes the record when the session ends', async () => {
      const { sut, sessions } = await setup({ SESSION_IDLE_TIMEOUT_MS: '60000', DEFAULT_SESSION_IDLE_TIMEOUT_MS: '2000' });
      const named = await sut.resolve(ref('work', 'c1', 'alice'));
      const def = await sut.resolve(ref(undefined, 'c1', 'alice'));
      const minted = await sut.create('alice', 5_000);
      expect((await sessions.list('alice')).map((r) => [r.id, r.kind, r.idleTimeoutMs])).toEqual(
        expect.arrayContaining([
          ['work', 'named', 60_000],
          [def.id, 'default', 2_000],
          [minted.id, 'minted', 5_000],
        ]),
      );
      await sut.end('alice', 'work', 'cleanup');
      await sut.endConnection('c1');
      expect((await sessions.list('alice')).map((r) => r.id)).toEqual([minted.id]);
      expect(named.ended).toBe(true);
    });

    it('lists a principal\'s sessions from the registry, with the computer and tasks this process holds', async () => {
      const { sut } = await setup();
      jest.spyOn(Date, 'now').mockReturnValue(T);
      const s = await sut.resolve(ref('work', 'c1', 'alice'));
      jest.spyOn(Date, 'now').mockReturnValue(T + 500);
      await sut.resolve(ref('work', 'c2', 'alice'));
      const task = sut.runTask(s, 'long', undefined, (signal) => sleep(60_000, signal));
      expect(await sut.views('alice')).toEqual([
        { session_id: 'work', kind: 'named', created_at: new Date(T).toISOString(), last_activity: new Date(T + 500).toISOString(), idle_timeout_ms: 600_000, active_tasks: 1, computer: sut.computerOf(s).id, controlled_by: null },
      ]);
      expect(await sut.views('bob')).toEqual([]);
      await sut.end('alice', 'work', 'cleanup');
      await expect(task).rejects.toMatchObject({ code: 'SESSION_ENDED' });
    });

    it('the idle sweep ends what the registry finds expired: use noted there by anyone keeps a session', async () => {
      const { sut, sessions } = await setup({ SESSION_IDLE_TIMEOUT_MS: '1000' });
      const t0 = Date.now();
      const a = await sut.resolve(ref('a'));
      const b = await sut.resolve(ref('b'));
      await sessions.touch('anonymous', 'b', t0 + 4_000);
      expect(await sut.sweep(t0 + 4_500)).toEqual(['a']);
      expect([a.ended, b.ended]).toEqual([true, false]);
      expect(await sessions.get('anonymous', 'a')).toBeUndefined();
    });

    it('a person\'s input in the live view counts as use in the registry, so the sweep leaves the session alone', async () => {
      const { sut } = await setup({ SESSION_IDLE_TIMEOUT_MS: '1000' });
      const t0 = Date.now();
      const s = await sut.resolve(ref('watched'));
      jest.spyOn(Date, 'now').mockReturnValue(t0 + 5_000);
      s.control.take('alice (live view)');
      s.control.release('alice (live view)');
      await oneTurn();
      expect(await sut.sweep(t0 + 5_500)).toEqual([]);
      expect(await sut.sweep(t0 + 6_500)).toEqual(['watched']);
    });

    it('a short call is one use for the registry; a task that outlasts a tenth of the idle timeout has its end noted too', async () => {
      const { sut, sessions } = await setup({ SESSION_IDLE_TIMEOUT_MS: '5000' });
      const s = await sut.resolve(ref('work'));
      const touch = jest.spyOn(sessions, 'touch');
      const clock = jest.spyOn(Date, 'now');
      clock.mockReturnValue(T);
      await sut.resolve(ref('work'));
      await sut.runTask(s, 'computer:cursor_position', undefined, async () => 'here');
      await oneTurn();
      expect(touch).toHaveBeenCalledTimes(1);
      // A long task: its start was noted by the call that resolved the session, its end 600 ms later is noted too.
      let finish!: () => void;
      const long = sut.runTask(s, 'long', undefined, () => new Promise<void>((r) => (finish = r)));
      clock.mockReturnValue(T + 600);
      finish();
      await long;
      expect(touch).toHaveBeenCalledTimes(2);
      expect((await sessions.get('anonymous', 'work'))?.lastActivityAt).toBe(T + 600);
    });

    it('with a shared registry, a call noted as it arrives awaits that note, not a second one; a note no call took soon is not trusted', async () => {
      const { sut, sessions } = await setup();
      Object.defineProperty(sessions, 'shared', { value: true }); // as Redis: a round trip away
      const s = await sut.resolve(ref('work'));
      const touch = jest.spyOn(sessions, 'touch');
      expect(sut.noteArrival('anonymous', 'work')).toBe(true);
      expect(touch).toHaveBeenCalledTimes(1); // sent at once, before the call resolves its session
      expect(await sut.resolve(ref('work'))).toBe(s);
      expect(touch).toHaveBeenCalledTimes(1);
      // A session this process does not hold: nothing is sent, the caller looks elsewhere.
      expect(sut.noteArrival('anonymous', 'elsewhere')).toBe(false);
      expect(touch).toHaveBeenCalledTimes(1);
      // A note that no call took within half a second: the next call asks the registry itself.
      const later = Date.now() + 600;
      expect(sut.noteArrival('anonymous', 'work')).toBe(true);
      jest.spyOn(Date, 'now').mockReturnValue(later);
      await sut.resolve(ref('work'));
      expect(touch).toHaveBeenCalledTimes(3);
      // The record gone when the call arrived: the call ends the session, as its own note would have.
      jest.restoreAllMocks();
      await sessions.end('anonymous', 'work');
      expect(sut.noteArrival('anonymous', 'work')).toBe(true);
      await expect(sut.resolve(ref('work'))).rejects.toMatchObject({ code: 'SESSION_ENDED' });
      expect(s.ended).toBe(true);
    });

    it('while the registry cannot be reached, calls fail at once with REGISTRY_UNAVAILABLE and lease nothing; then they work again', async () => {
      const { sut, sessions, pool } = await setup();
      const kept = await sut.resolve(ref('kept'));
      sessions.down = true;
      await expect(sut.resolve(ref('new'))).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE', message: expect.stringMatching(/unreachable.*Retry shortly/) });
      await expect(sut.resolve(ref('kept'))).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
      await expect(sut.resolve(ref(undefined, 'c5'))).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
      expect(sut.find(ref(undefined, 'c5'))).toBeUndefined();
      expect(pool.stats()).toMatchObject({ leased: 1, waiting: 0, creating: 0 });
      sessions.down = false;
      expect(await sut.resolve(ref('kept'))).toBe(kept);
      await expect(sut.resolve(ref('new'))).resolves.toMatchObject({ id: 'new' });
    });

    it('a session whose record cannot be removed still ends and frees its computer; the sweep removes the record later', async () => {
      const { sut, sessions, provider } = await setup({ SESSION_IDLE_TIMEOUT_MS: '1000' });
      const s = await sut.resolve(ref('x'));
      sessions.down = true;
      expect(await sut.end('anonymous', 'x', 'cleanup')).toMatchObject({ ended: true });
      expect(s.ended).toBe(true);
      expect(provider.open()).toHaveLength(0);
      sessions.down = false;
      expect(await sessions.count()).toBe(1);
      expect(await sut.sweep(Date.now() + 5_000)).toEqual([]);
      expect(await sessions.count()).toBe(0);
    });
  });

  describe('withComputer', () => {
    const computerFailed = () => new DomainError(DomainErrorCode.COMPUTER_FAILED, 'the desktop went away');

    it('a computer that died under a call is released: the caller gets the error, the next call a fresh computer', async () => {
      const { sut, provider, pool } = await setup();
      const s = await sut.resolve(ref('x'));
      const first = sut.computerOf(s);
      const failed = sut.withComputer(s, async (c) => {
        provider.created[0].kill();
        expect(c).toBe(first);
        throw computerFailed();
      });
      await expect(failed).rejects.toMatchObject({ code: 'COMPUTER_FAILED', message: 'the desktop went away' });
      expect(provider.created[0].isClosed).toBe(true);
      expect(pool.stats().leased).toBe(0);
      const next = await sut.withComputer(await sut.resolve(ref('x')), async (c) => c);
      expect(next).not.toBe(first);
      expect(await next.isAlive()).toBe(true);
      expect(sut.computerOf(s)).toBe(next);
    });

    it('a session whose computer was released gets a fresh one on its next withComputer, without resolving again', async () => {
      const { sut, provider } = await setup();
      const s = await sut.resolve(ref('x'));
      provider.created[0].kill();
      await expect(sut.withComputer(s, () => Promise.reject(computerFailed()))).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
      await expect(sut.withComputer(s, async (c) => c.id)).resolves.toBe(provider.created[1].id);
    });

    it('a computer that still answers is kept after COMPUTER_FAILED, and other errors never release it', async () => {
      const { sut, provider, pool } = await setup();
      const s = await sut.resolve(ref('x'));
      const computer = sut.computerOf(s);
      await expect(sut.withComputer(s, () => Promise.reject(computerFailed()))).rejects.toMatchObject({ code: 'COMPUTER_FAILED' });
      provider.created[0].kill();
      await expect(sut.withComputer(s, () => Promise.reject(new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'bad')))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(sut.computerOf(s)).toBe(computer);
      expect(pool.leasesOf('x').map((l) => l.computer)).toEqual([computer]);
    });

    it('a session that ended gives SESSION_ENDED and no computer', async () => {
      const { sut, provider } = await setup();
      const s = await sut.resolve(ref('x'));
      await sut.end('anonymous', 'x', 'cleanup');
      const work = jest.fn(async () => 'ran');
      await expect(sut.withComputer(s, work)).rejects.toMatchObject({ code: 'SESSION_ENDED' });
      expect(work).not.toHaveBeenCalled();
      expect(provider.created).toHaveLength(1);
    });

    it('an extra computer is the caller\'s only while the work runs, and counts against the principal meanwhile', async () => {
      const { sut, pool } = await setup({ MAX_COMPUTERS_PER_PRINCIPAL: '2' });
      const s = await sut.resolve(ref('x'));
      const seen = await sut.withExtraComputer(s, undefined, async (c) => {
        expect(c).not.toBe(sut.computerOf(s));
        expect(pool.roomFor('anonymous')).toBe(0);
        return c;
      });
      expect(await seen.isAlive()).toBe(false);
      expect(pool.roomFor('anonymous')).toBe(1);
      expect(pool.stats().leased).toBe(1);
    });
  });

  describe('cleanup_session racing calls on the same session_id', () => {
    afterEach(() => jest.useRealTimers());

    it('calls waiting for a new session\'s computer get SESSION_ENDED at once; no session and no leased computer is left', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const { sut, pool, provider } = await setup({ POOL_ACQUIRE_TIMEOUT_MS: '60000' });
      provider.createDelayMs = 10_000;
      const creator = track(sut.resolve(ref('x', 'c1')));
      const waiter = track(sut.resolve(ref('x', 'c2')));
      await jest.advanceTimersByTimeAsync(100);
      expect(pool.stats()).toMatchObject({ creating: 1, waiting: 1 });

      const cleanup = track(sut.end('anonymous', 'x', 'cleanup'));
      await jest.advanceTimersByTimeAsync(0);
      // cleanup_session does not wait out the computer's start.
      expect(cleanup).toEqual({ settled: true, value: { ended: true, abortedTasks: 0, computers: [] } });
      for (const call of [creator, waiter]) {
        expect(call.error).toMatchObject({ code: 'SESSION_ENDED', message: expect.stringMatching(/^Session "x" was ended by cleanup_session while this call was running/) });
      }
      expect(sut.list('anonymous')).toEqual([]);

      // The computer that was being made finishes later: it goes to stock for anyone, not to "x".
      await jest.advanceTimersByTimeAsync(10_000);
      expect(provider.created).toHaveLength(1);
      expect(pool.stats()).toMatchObject({ leased: 0, idle: 1, creating: 0, waiting: 0 });
      expect(pool.leasesOf('x')).toEqual([]);
      expect(sut.get('anonymous', 'x')).toBeUndefined();
      expect(sut.count()).toBe(0);
    });

    it('a call that arrives while cleanup_session is still running gets SESSION_ENDED; the first call after it returned starts afresh', async () => {
      const { sut, provider } = await setup();
      const old = await sut.resolve(ref('x'));
      const computer = provider.created[0];
      const close = computer.close.bind(computer);
      let finishClose: (() => void) | undefined;
      computer.close = () => new Promise<void>((r) => (finishClose = r)).then(close);

      const cleanup = sut.end('anonymous', 'x', 'cleanup');
      await waitFor('cleanup_session to be destroying the computer', () => finishClose !== undefined);
      await expect(sut.resolve(ref('x', 'c2'))).rejects.toMatchObject({ code: 'SESSION_ENDED', message: expect.stringMatching(/cleanup_session/) });
      const again = track(sut.end('anonymous', 'x', 'cleanup'));
      expect(sut.list('anonymous')).toEqual([]);
      expect(provider.created).toHaveLength(1);

      finishClose!();
      await expect(cleanup).resolves.toEqual({ ended: true, abortedTasks: 0, computers: [computer.id] });
      await waitFor('the second cleanup_session to return', () => again.settled);
      expect(again.value).toMatchObject({ ended: false });
      const fresh = await sut.resolve(ref('x'));
      expect(fresh).not.toBe(old);
      expect(sut.computerOf(fresh)).not.toBe(computer);
      expect(computer.isClosed).toBe(true);
      expect(provider.created).toHaveLength(2);
    });

    it('a concurrent task waiting for an extra computer stops waiting when the session ends and is given none', async () => {
      const { sut, pool } = await setup({ POOL_MAX_SIZE: '1', POOL_ACQUIRE_TIMEOUT_MS: '60000' });
      const s = await sut.resolve(ref('x'));
      const extra = track(sut.withExtraComputer(s, undefined, async () => 'ran'));
      await waitFor('the extra lease to wait for a computer', () => pool.stats().waiting === 1);
      await sut.end('anonymous', 'x', 'cleanup');
      expect(extra.error).toMatchObject({ code: 'SESSION_ENDED' });
      expect(pool.stats()).toMatchObject({ leased: 0, waiting: 0 });
    });

    it('the error says what to do for each kind of session', async () => {
      const { sut } = await setup();
      const minted = await sut.create('anonymous');
      const mintedTask = sut.runTask(minted, 'long', undefined, (signal) => sleep(60_000, signal));
      await sut.end('anonymous', minted.id, 'cleanup');
      await expect(mintedTask).rejects.toMatchObject({ code: 'SESSION_ENDED', message: expect.stringMatching(/cleanup_session.*create_session/) });
      const def = await sut.resolve(ref(undefined, 'c7'));
      const defTask = sut.runTask(def, 'long', undefined, (signal) => sleep(60_000, signal));
      await sut.endConnection('c7');
      await expect(defTask).rejects.toMatchObject({ code: 'SESSION_ENDED', message: expect.stringMatching(/MCP connection it belonged to closed.*without session_id/) });
    });
  });

  describe('a person controlling a session\'s desktop', () => {
    it('the session view says who holds control; the service announces take-overs and hand-backs', async () => {
      const { sut } = await setup({ LIVE_VIEW_CONTROL_IDLE_MS: '5000' });
      const s = await sut.resolve(ref('x'));
      const seen: string[] = [];
      sut.events.on('control-taken', (session, holder) => seen.push(`${session.id} taken by ${holder}`));
      sut.events.on('control-released', (session, holder, reason) => seen.push(`${session.id} released from ${holder} (${reason})`));
      expect(s.control.idleMs).toBe(5000);
      expect(sut.view(s).controlled_by).toBeNull();
      s.control.take('alice (live view)');
      expect(sut.view(s).controlled_by).toBe('alice (live view)');
      expect(sut.underHumanControl()).toBe(1);
      s.control.release('alice (live view)');
      expect(seen).toEqual(['x taken by alice (live view)', 'x released from alice (live view) (holder)']);
      expect(sut.underHumanControl()).toBe(0);
    });

    it('releaseControl takes control back from whoever holds it, and creates no session (nor computer) to do so', async () => {
      const { sut, provider } = await setup();
      expect(sut.releaseControl(ref('never-used'))).toEqual({ sessionId: 'never-used', found: false });
      expect(sut.releaseControl(ref(undefined, 'c9'))).toEqual({ sessionId: undefined, found: false });
      expect(sut.count()).toBe(0);
      expect(provider.created).toHaveLength(0);
      const def = await sut.resolve(ref(undefined, 'c9'));
      expect(sut.releaseControl(ref(undefined, 'c9'))).toEqual({ sessionId: def.id, found: true, releasedFrom: undefined });
      def.control.take('alice');
      expect(sut.releaseControl(ref(undefined, 'c9'))).toEqual({ sessionId: def.id, found: true, releasedFrom: 'alice' });
      expect(def.control.heldBy).toBeUndefined();
      // Another principal's session of the same id is not theirs to release.
      const x = await sut.resolve(ref('x', 'c1', 'alice'));
      x.control.take('alice');
      expect(sut.releaseControl(ref('x', 'c2', 'bob'))).toEqual({ sessionId: 'x', found: false });
      expect(x.control.heldBy).toBe('alice');
    });

    it('ending the session releases control and stops a task waiting for its turn with SESSION_ENDED', async () => {
      const { sut } = await setup();
      const s = await sut.resolve(ref('x'));
      const released: string[] = [];
      sut.events.on('control-released', (_s, holder, reason) => released.push(`${holder} (${reason})`));
      s.control.take('alice');
      const task = track(sut.runTask(s, 'agent', undefined, (signal) => s.control.agentTurn(signal)));
      await oneTurn();
      expect(task.settled).toBe(false);
      await sut.end('anonymous', 'x', 'cleanup');
      expect(task.error).toMatchObject({ code: 'SESSION_ENDED' });
      expect(released).toEqual(['alice (session-ended)']);
      expect(() => s.control.take('alice')).toThrow(expect.objectContaining({ code: 'SESSION_ENDED' }));
    });
  });

  describe('replicas sharing one registry', () => {
    /** Two replicas (pod-a, pod-b) over one directory and registry, each with its own computers. */
    async function two(env: Record<string, string> = {}) {
      const directory = new InMemoryReplicaDirectory();
      const shared = { directory, registry: new UnreachableRegistryFake(directory) };
      return { a: await setup({ REPLICA_ID: 'pod-a', ...env }, undefined, shared), b: await setup({ REPLICA_ID: 'pod-b', ...env }, undefined, shared), shared };
    }

    it('records which replica incarnation holds each session\'s computer', async () => {
      const { a, shared } = await two();
      await a.sut.resolve(ref('work'));
      expect(await shared.registry.get('anonymous', 'work')).toMatchObject({ owner: a.replica.owner });
      expect(a.replica.owner).toMatch(/^pod-a@\d+$/);
    });

    it('a session whose replica is gone answers SESSION_LOST once, naming it; the next call gets a fresh computer', async () => {
      const { a, b, shared } = await two();
      const first = await a.sut.resolve(ref('work'));
      // pod-a stops without ending its sessions (a crash): its lease goes, its computer with it.
      await a.replica.leave();
      await expect(b.sut.resolve(ref('work'))).rejects.toMatchObject({
        code: 'SESSION_LOST',
        message: expect.stringMatching(/Session "work" is lost: the server replica pod-a that held its computer has stopped.*Call again with session_id "work"/),
      });
      const again = await b.sut.resolve(ref('work'));
      expect(again).not.toBe(first);
      expect(b.provider.created).toHaveLength(1);
      expect(await shared.registry.get('anonymous', 'work')).toMatchObject({ owner: b.replica.owner });
    });

    it('the sweep frees a gone replica\'s places at once, and the sessions still answer SESSION_LOST', async () => {
      const { a, b, shared } = await two({ MAX_SESSIONS: '2', POOL_MAX_SIZE: '2' });
      await a.sut.resolve(ref('one'));
      await a.sut.resolve(ref('two'));
      await expect(b.sut.resolve(ref('three'))).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
      await a.replica.leave();
      await b.sut.sweep();
      expect(await shared.registry.count()).toBe(0);
      await b.sut.resolve(ref('three'));
      await expect(b.sut.resolve(ref('one'))).rejects.toMatchObject({ code: 'SESSION_LOST' });
    });

    it('a live replica\'s session is neither swept nor taken over by another; the other says where it is', async () => {
      const { a, b, shared } = await two({ SESSION_IDLE_TIMEOUT_MS: '1000' });
      await a.sut.resolve(ref('work'));
      await b.sut.sweep(Date.now() + 60_000);
      expect(await shared.registry.get('anonymous', 'work')).toBeDefined();
      await expect(b.sut.resolve(ref('work'))).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/served by another server replica \(pod-a\)/) });
      expect(b.provider.created).toHaveLength(0);
      expect(await a.sut.sweep(Date.now() + 60_000)).toEqual(['work']);
    });
  });
});
