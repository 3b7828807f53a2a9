import type { Admission, AdmissionResult, SessionLimits, SessionRecord, SessionRegistry } from './session-registry';
import { ownerToken, type ReplicaDirectory } from './replica-directory';
import { seededRandom } from '../../test/support/prng';
import { waitFor } from '../../test/support/wait-for';

/**
 * The contract every SessionRegistry backend passes: one set of tests, run by each backend's spec
 * (in-memory-session-registry.spec.ts, redis-session-registry.spec.ts). Not built into dist (tsconfig excludes it).
 */
export interface RegistryHarness {
  /** `n` registries over one fresh, empty store: what `n` replicas of the server would share. */
  registries(n: number): Promise<SessionRegistry[]>;
  /** The same, each with the replica directory it judges owners by (one store for both). */
  replicas(n: number): Promise<{ registry: SessionRegistry; directory: ReplicaDirectory }[]>;
}

const T0 = 1_800_000_000_000;
const LIMITS: SessionLimits = { maxSessions: 100, maxSessionsPerPrincipal: 100 };

function admission(principal: string, id: string, more: Partial<Admission> = {}): Admission {
  return { id, principal, kind: 'named', idleTimeoutMs: 60_000, now: T0, limits: LIMITS, ...more };
}


const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const idsOf = (rs: SessionRecord[]) => rs.map((r) => `${r.principal}/${r.id}`);

export function sessionRegistryContract(harness: () => RegistryHarness): void {
  const one = async () => (await harness().registries(1))[0];

  describe('the SessionRegistry contract', () => {
    it('admits a session and keeps its record: who, what kind, when, its idle timeout and owner', async () => {
      const sut = await one();
      const r = await sut.admit(admission('alice', 'work', { kind: 'minted', idleTimeoutMs: 5_000, owner: 'replica-a' }));
      const record: SessionRecord = { id: 'work', principal: 'alice', kind: 'minted', createdAt: T0, lastActivityAt: T0, idleTimeoutMs: 5_000, owner: 'replica-a' };
      expect(r).toEqual({ admitted: true, record });
      expect(await sut.get('alice', 'work')).toEqual(record);
      expect(await sut.list('alice')).toEqual([record]);
      await sut.admit(admission('alice', 'other', { kind: 'default' }));
      expect(await sut.get('alice', 'other')).toEqual({ id: 'other', principal: 'alice', kind: 'default', createdAt: T0, lastActivityAt: T0, idleTimeoutMs: 60_000 });
    });

    it('refuses a second session of the same id for the same principal; another principal\'s of that id is another session', async () => {
      const sut = await one();
      expect((await sut.admit(admission('alice', 'work'))).admitted).toBe(true);
      expect(await sut.admit(admission('alice', 'work', { now: T0 + 5 }))).toEqual({ admitted: false, refused: 'exists' });
      expect((await sut.admit(admission('bob', 'work', { now: T0 + 7 }))).admitted).toBe(true);
      expect((await sut.get('alice', 'work'))?.createdAt).toBe(T0);
      expect((await sut.get('bob', 'work'))?.createdAt).toBe(T0 + 7);
      expect(await sut.count()).toBe(2);
    });

    it('holds the server\'s cap: beyond MAX_SESSIONS it refuses, naming the cap; ending a session frees a place', async () => {
      const sut = await one();
      const limits = { maxSessions: 3, maxSessionsPerPrincipal: 3 };
      for (const [p, id] of [['alice', 'a1'], ['bob', 'b1'], ['carol', 'c1']]) expect((await sut.admit(admission(p, id, { limits }))).admitted).toBe(true);
      expect(await sut.admit(admission('dave', 'd1', { limits }))).toEqual({ admitted: false, refused: 'server', max: 3 });
      expect(await sut.count()).toBe(3);
      expect(await sut.end('bob', 'b1')).toMatchObject({ principal: 'bob', id: 'b1' });
      expect((await sut.admit(admission('dave', 'd1', { limits }))).admitted).toBe(true);
      expect(await sut.count()).toBe(3);
    });

    it('holds each principal\'s cap, while other principals still get sessions', async () => {
      const sut = await one();
      const limits = { maxSessions: 10, maxSessionsPerPrincipal: 2 };
      expect((await sut.admit(admission('alice', 'a1', { limits }))).admitted).toBe(true);
      expect((await sut.admit(admission('alice', 'a2', { limits }))).admitted).toBe(true);
      expect(await sut.admit(admission('alice', 'a3', { limits }))).toEqual({ admitted: false, refused: 'principal', max: 2 });
      expect((await sut.admit(admission('bob', 'b1', { limits }))).admitted).toBe(true);
      expect(await sut.countOf('alice')).toBe(2);
      expect(await sut.countOf('bob')).toBe(1);
      expect(await sut.countOf('carol')).toBe(0);
    });

    it('says a refusal of the server\'s cap before the principal\'s when both are reached', async () => {
      const sut = await one();
      const limits = { maxSessions: 2, maxSessionsPerPrincipal: 2 };
      await sut.admit(admission('alice', 'a1', { limits }));
      await sut.admit(admission('alice', 'a2', { limits }));
      expect(await sut.admit(admission('alice', 'a3', { limits }))).toEqual({ admitted: false, refused: 'server', max: 2 });
    });

    it('touch marks use (never moving back in time); another principal, or an unknown id, finds nothing and changes nothing', async () => {
      const sut = await one();
      await sut.admit(admission('alice', 'work'));
      expect(await sut.touch('alice', 'work', T0 + 1_000)).toMatchObject({ id: 'work', principal: 'alice', lastActivityAt: T0 + 1_000, createdAt: T0 });
      expect((await sut.touch('alice', 'work', T0 + 500))?.lastActivityAt).toBe(T0 + 1_000);
      expect(await sut.touch('bob', 'work', T0 + 9_000)).toBeUndefined();
      expect(await sut.touch('alice', 'nope', T0 + 9_000)).toBeUndefined();
      expect((await sut.get('alice', 'work'))?.lastActivityAt).toBe(T0 + 1_000);
      expect(await sut.get('bob', 'work')).toBeUndefined();
      expect(await sut.list('bob')).toEqual([]);
    });

    it('ends a session once: the first end gets its record, a second (or another principal\'s) gets nothing', async () => {
      const sut = await one();
      await sut.admit(admission('alice', 'work'));
      expect(await sut.end('bob', 'work')).toBeUndefined();
      expect(await sut.get('alice', 'work')).toBeDefined();
      const ends = await Promise.all([sut.end('alice', 'work'), sut.end('alice', 'work'), sut.end('alice', 'work')]);
      expect(ends.filter((e) => e !== undefined)).toEqual([expect.objectContaining({ id: 'work', principal: 'alice' })]);
      expect(await sut.get('alice', 'work')).toBeUndefined();
      expect(await sut.touch('alice', 'work', T0 + 1)).toBeUndefined();
      expect(await sut.count()).toBe(0);
      expect(await sut.countOf('alice')).toBe(0);
    });

    it('lists a principal\'s sessions oldest first, and only theirs', async () => {
      const sut = await one();
      await sut.admit(admission('alice', 'late', { now: T0 + 20 }));
      await sut.admit(admission('alice', 'early', { now: T0 + 10 }));
      await sut.admit(admission('bob', 'middle', { now: T0 + 15 }));
      await sut.admit(admission('alice', 'b-tie', { now: T0 + 20 }));
      expect((await sut.list('alice')).map((r) => r.id)).toEqual(['early', 'b-tie', 'late']);
      expect((await sut.list('bob')).map((r) => r.id)).toEqual(['middle']);
    });

    it('lists every principal\'s sessions oldest first for an operator, at most `limit`, without ended ones', async () => {
      const sut = await one();
      await sut.admit(admission('alice', 'late', { now: T0 + 20 }));
      await sut.admit(admission('alice', 'early', { now: T0 + 10 }));
      await sut.admit(admission('bob', 'middle', { now: T0 + 15 }));
      await sut.admit(admission('carol', 'gone', { now: T0 + 5 }));
      await sut.end('carol', 'gone');
      expect(idsOf(await sut.listAll(10))).toEqual(['alice/early', 'bob/middle', 'alice/late']);
      expect(idsOf(await sut.listAll(2))).toEqual(['alice/early', 'bob/middle']);
      expect(await sut.listAll(0)).toEqual([]);
    });

    it('claims only sessions unused past their own idle timeout, the longest expired first, at most `limit`, and removes them', async () => {
      const sut = await one();
      await sut.admit(admission('alice', 'short', { idleTimeoutMs: 1_000 }));
      await sut.admit(admission('alice', 'shorter', { idleTimeoutMs: 500 }));
      await sut.admit(admission('bob', 'long', { idleTimeoutMs: 10_000 }));
      await sut.admit(admission('bob', 'used', { idleTimeoutMs: 1_000 }));
      await sut.touch('bob', 'used', T0 + 1_500);
      // Exactly at its timeout a session is not expired yet: it must have been unused for longer.
      expect(await sut.claimExpired(T0 + 500, 10)).toEqual([]);
      expect(idsOf(await sut.claimExpired(T0 + 2_000, 1))).toEqual(['alice/shorter']);
      expect(idsOf(await sut.claimExpired(T0 + 2_000, 10))).toEqual(['alice/short']);
      expect(await sut.claimExpired(T0 + 2_000, 10)).toEqual([]);
      expect(await sut.get('alice', 'short')).toBeUndefined();
      expect(await sut.count()).toBe(2);
      expect(await sut.countOf('alice')).toBe(0);
      expect(idsOf(await sut.claimExpired(T0 + 20_000, 10))).toEqual(['bob/used', 'bob/long']);
      expect(await sut.count()).toBe(0);
      expect(await sut.list('bob')).toEqual([]);
    });

    it('a claimed session is gone for everyone: touch and end find nothing, and its id can be admitted afresh', async () => {
      const sut = await one();
      await sut.admit(admission('alice', 'work', { idleTimeoutMs: 1_000 }));
      expect(idsOf(await sut.claimExpired(T0 + 5_000, 10))).toEqual(['alice/work']);
      expect(await sut.touch('alice', 'work', T0 + 5_001)).toBeUndefined();
      expect(await sut.end('alice', 'work')).toBeUndefined();
      expect((await sut.admit(admission('alice', 'work', { now: T0 + 6_000 }))).admitted).toBe(true);
    });

    it('hands each expired session to exactly one of many sweepers running at once', async () => {
      const replicas = await harness().registries(4);
      const ids = Array.from({ length: 40 }, (_, i) => `s${i}`);
      for (const [i, id] of ids.entries()) await replicas[i % 4].admit(admission(`p${i % 3}`, id, { idleTimeoutMs: 1_000 + i }));
      const claimed: SessionRecord[] = [];
      await Promise.all(
        replicas.flatMap((r) =>
          Array.from({ length: 3 }, async () => {
            for (let batch = await r.claimExpired(T0 + 60_000, 3); batch.length; batch = await r.claimExpired(T0 + 60_000, 3)) claimed.push(...batch);
          }),
        ),
      );
      expect(claimed.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(await replicas[1].count()).toBe(0);
    });

    it('never admits beyond a cap, nor the same session twice, under concurrent admissions from several replicas (randomized)', async () => {
      for (const seed of [1, 7, 42, 1_234, 98_765]) {
        const rnd = seededRandom(seed);
        const replicas = await harness().registries(4);
        const principals = ['p0', 'p1', 'p2', 'p3', 'p4'];
        const limits = { maxSessions: 5 + Math.floor(rnd() * 10), maxSessionsPerPrincipal: 1 + Math.floor(rnd() * 4) };
        // Ids from a small set, so the same session is asked for more than once, at the same time.
        const attempts = Array.from({ length: 80 }, (_, i) => ({ principal: pick(rnd, principals), id: `n${Math.floor(rnd() * 8)}`, replica: pick(rnd, replicas), now: T0 + i }));
        const results: { principal: string; id: string; r: AdmissionResult }[] = await Promise.all(
          attempts.map(async (a) => ({ ...a, r: await a.replica.admit(admission(a.principal, a.id, { limits, now: a.now })) })),
        );
        const why = `seed ${seed}, limits ${JSON.stringify(limits)}`;
        const admitted = results.filter((x) => x.r.admitted).map((x) => `${x.principal}/${x.id}`);
        expect({ why, distinct: new Set(admitted).size }).toEqual({ why, distinct: admitted.length });
        // Atomic admissions act as some serial order, and every serial order admits exactly this many: each principal's
        // distinct ids up to its cap, until the server's cap (had fewer been admitted, each refusal would have been a
        // principal at its cap, so all the rest were admitted).
        const distinctIds = (p: string) => new Set(attempts.filter((a) => a.principal === p).map((a) => a.id)).size;
        const expected = Math.min(limits.maxSessions, principals.reduce((n, p) => n + Math.min(limits.maxSessionsPerPrincipal, distinctIds(p)), 0));
        expect({ why, admitted: admitted.length }).toEqual({ why, admitted: expected });
        expect({ why, count: await replicas[2].count() }).toEqual({ why, count: expected });
        for (const p of principals) {
          const listed = idsOf(await replicas[3].list(p));
          expect({ why, p, size: listed.length <= limits.maxSessionsPerPrincipal }).toEqual({ why, p, size: true });
          expect({ why, p, listed: [...listed].sort() }).toEqual({ why, p, listed: admitted.filter((x) => x.startsWith(`${p}/`)).sort() });
        }
        for (const x of results) if (!x.r.admitted && x.r.refused !== 'exists') expect(x.r.max).toBe(x.r.refused === 'server' ? limits.maxSessions : limits.maxSessionsPerPrincipal);
      }
    });

    it('keeps the caps and its counts consistent while sessions end and others are admitted at once (randomized)', async () => {
      const rnd = seededRandom(2_024);
      const replicas = await harness().registries(3);
      const limits = { maxSessions: 6, maxSessionsPerPrincipal: 3 };
      const principals = ['p0', 'p1', 'p2'];
      for (let round = 0; round < 5; round++) {
        const ops = Array.from({ length: 40 }, (_, i) => {
          const r = pick(rnd, replicas);
          const p = pick(rnd, principals);
          const id = `n${Math.floor(rnd() * 6)}`;
          return rnd() < 0.6 ? r.admit(admission(p, id, { limits, now: T0 + round * 100 + i })) : r.end(p, id);
        });
        await Promise.all(ops);
        const lists = await Promise.all(principals.map((p) => replicas[0].list(p)));
        const total = lists.reduce((n, l) => n + l.length, 0);
        expect({ round, total: total <= limits.maxSessions, count: await replicas[1].count() }).toEqual({ round, total: true, count: total });
        for (const [i, l] of lists.entries()) {
          expect(l.length).toBeLessThanOrEqual(limits.maxSessionsPerPrincipal);
          expect(await replicas[2].countOf(principals[i])).toBe(l.length);
          expect(new Set(l.map((r) => r.id)).size).toBe(l.length);
        }
      }
    });
  });

  describe('the SessionRegistry contract: owners', () => {
    /** Two replicas that joined the directory, and their owner tokens. */
    async function twoReplicas() {
      const [a, b] = await harness().replicas(2);
      const ea = await a.directory.join({ id: 'pod-a', startedAt: T0, version: '1' }, 60_000);
      const eb = await b.directory.join({ id: 'pod-b', startedAt: T0, version: '1' }, 60_000);
      return { a: { ...a, owner: ownerToken('pod-a', ea.epoch), epoch: ea.epoch }, b: { ...b, owner: ownerToken('pod-b', eb.epoch), epoch: eb.epoch } };
    }

    it('a sweeping replica claims its own expired sessions, ownerless ones and those of a gone owner, never a live replica\'s', async () => {
      const { a, b } = await twoReplicas();
      await a.registry.admit(admission('alice', 'of-a', { owner: a.owner, idleTimeoutMs: 1_000 }));
      await b.registry.admit(admission('alice', 'of-b', { owner: b.owner, idleTimeoutMs: 1_000 }));
      await b.registry.admit(admission('bob', 'nobody\'s', { idleTimeoutMs: 1_000 }));
      expect(idsOf(await a.registry.claimExpired(T0 + 5_000, 10, a.owner)).sort()).toEqual(['alice/of-a', 'bob/nobody\'s']);
      // B is alive: its session waits for B's own sweep, even when A sweeps again.
      expect(await a.registry.claimExpired(T0 + 5_000, 10, a.owner)).toEqual([]);
      expect(await a.registry.get('alice', 'of-b')).toMatchObject({ owner: b.owner });
      await b.directory.leave('pod-b', b.epoch);
      expect(idsOf(await a.registry.claimExpired(T0 + 5_000, 10, a.owner))).toEqual(['alice/of-b']);
      expect(await a.registry.count()).toBe(0);
    });

    it('a live replica\'s expired sessions do not hide the sweeper\'s own behind them', async () => {
      const { a, b } = await twoReplicas();
      for (let i = 0; i < 5; i++) await b.registry.admit(admission('alice', `b${i}`, { owner: b.owner, idleTimeoutMs: 100 + i }));
      await a.registry.admit(admission('alice', 'mine', { owner: a.owner, idleTimeoutMs: 1_000 }));
      expect(idsOf(await a.registry.claimExpired(T0 + 5_000, 2, a.owner))).toEqual(['alice/mine']);
      expect(idsOf(await b.registry.claimExpired(T0 + 5_000, 2, b.owner))).toEqual(['alice/b0', 'alice/b1']);
    });

    it('marks a gone owner\'s sessions lost: their places free at once, and the id answers as lost until ended', async () => {
      const { a, b } = await twoReplicas();
      const limits = { maxSessions: 2, maxSessionsPerPrincipal: 2 };
      await b.registry.admit(admission('alice', 'work', { owner: b.owner, limits }));
      await a.registry.admit(admission('alice', 'here', { owner: a.owner, limits }));
      expect(await a.registry.admit(admission('alice', 'more', { owner: a.owner, limits }))).toEqual({ admitted: false, refused: 'server', max: 2 });
      expect(await a.registry.markLost(10)).toEqual([]);

      await b.directory.leave('pod-b', b.epoch);
      const marked = await a.registry.markLost(10);
      expect(marked).toEqual([expect.objectContaining({ id: 'work', principal: 'alice', owner: b.owner, lost: true })]);
      expect(await a.registry.markLost(10)).toEqual([]);
      expect(await a.registry.count()).toBe(1);
      expect(await a.registry.countOf('alice')).toBe(1);
      expect(idsOf(await a.registry.list('alice'))).toEqual(['alice/here']);
      expect((await a.registry.admit(admission('alice', 'more', { owner: a.owner, limits }))).admitted).toBe(true);

      // The lost session: seen as lost, not touched back to life, not admitted again until someone ends it.
      expect(await a.registry.get('alice', 'work')).toMatchObject({ id: 'work', lost: true });
      expect(await a.registry.touch('alice', 'work', T0 + 10)).toBeUndefined();
      expect(await a.registry.admit(admission('alice', 'work', { owner: a.owner }))).toEqual({ admitted: false, refused: 'exists' });
      expect(await a.registry.claimExpired(T0 + 10_000_000, 10, a.owner)).not.toContainEqual(expect.objectContaining({ id: 'work' }));
      expect(await a.registry.end('alice', 'work')).toMatchObject({ id: 'work', lost: true });
      expect(await a.registry.end('alice', 'work')).toBeUndefined();
      expect((await a.registry.admit(admission('alice', 'work', { owner: a.owner }))).admitted).toBe(true);
    });

    it('a restarted replica (same id, new epoch) does not own what its earlier incarnation held', async () => {
      const [r] = await harness().replicas(1);
      const before = await r.directory.join({ id: 'pod-a', startedAt: T0, version: '1' }, 60_000);
      await r.registry.admit(admission('alice', 'work', { owner: ownerToken('pod-a', before.epoch) }));
      const after = await r.directory.join({ id: 'pod-a', startedAt: T0 + 1, version: '1' }, 60_000);
      await r.registry.admit(admission('alice', 'new', { owner: ownerToken('pod-a', after.epoch) }));
      expect(idsOf(await r.registry.markLost(10))).toEqual(['alice/work']);
      expect(idsOf(await r.registry.list('alice'))).toEqual(['alice/new']);
    });

    it('an owner whose lease runs out is gone', async () => {
      const [r] = await harness().replicas(1);
      const e = await r.directory.join({ id: 'pod-brief', startedAt: T0, version: '1' }, 300);
      await r.registry.admit(admission('alice', 'work', { owner: ownerToken('pod-brief', e.epoch) }));
      await waitFor('the lease to run out', async () => (await r.registry.markLost(10)).length === 1, 5_000, 50);
      expect(await r.registry.get('alice', 'work')).toMatchObject({ lost: true });
    });

    it('a lost record goes by itself after its idle timeout, and the id is free again', async () => {
      const [r] = await harness().replicas(1);
      const e = await r.directory.join({ id: 'pod-a', startedAt: T0, version: '1' }, 60_000);
      await r.registry.admit(admission('alice', 'work', { owner: ownerToken('pod-a', e.epoch), idleTimeoutMs: 300 }));
      await r.directory.leave('pod-a', e.epoch);
      expect(idsOf(await r.registry.markLost(10))).toEqual(['alice/work']);
      await waitFor('the lost record to expire', async () => (await r.registry.get('alice', 'work')) === undefined, 5_000, 50);
      expect((await r.registry.admit(admission('alice', 'work'))).admitted).toBe(true);
    });

    it('records where a session\'s computer is only for its owner; the record names it until the session ends', async () => {
      const { a, b } = await twoReplicas();
      await a.registry.admit(admission('alice', 'work', { owner: a.owner }));
      expect(await b.registry.assign('alice', 'work', b.owner, 'cua:http://127.0.0.1:9001')).toBe(false);
      expect(await a.registry.get('alice', 'work')).not.toHaveProperty('computer');
      expect(await a.registry.assign('alice', 'work', a.owner, 'cua:http://127.0.0.1:9001')).toBe(true);
      expect(await b.registry.get('alice', 'work')).toMatchObject({ owner: a.owner, computer: 'cua:http://127.0.0.1:9001' });
      expect(await b.registry.list('alice')).toEqual([expect.objectContaining({ computer: 'cua:http://127.0.0.1:9001' })]);
      expect(await a.registry.assign('alice', 'work', a.owner, undefined)).toBe(true);
      expect(await a.registry.get('alice', 'work')).not.toHaveProperty('computer');
      expect(await a.registry.assign('bob', 'work', a.owner, 'cua:x')).toBe(false);
    });

    it('a gone owner\'s session with a reachable computer is not lost: it keeps its place and exactly one replica adopts it', async () => {
      const { a, b } = await twoReplicas();
      const limits = { maxSessions: 2, maxSessionsPerPrincipal: 2 };
      await b.registry.admit(admission('alice', 'remote', { owner: b.owner, limits }));
      await b.registry.assign('alice', 'remote', b.owner, 'cua:http://127.0.0.1:9001');
      await b.registry.admit(admission('alice', 'local', { owner: b.owner, limits }));
      // While B lives nobody else may take its session.
      expect(await a.registry.adopt('alice', 'remote', a.owner)).toBeUndefined();
      await b.directory.leave('pod-b', b.epoch);
      expect(idsOf(await a.registry.markLost(10))).toEqual(['alice/local']);
      expect(await a.registry.markLost(10)).toEqual([]);
      expect(await a.registry.count()).toBe(1);
      expect(await a.registry.get('alice', 'remote')).not.toHaveProperty('lost');
      // Two replicas adopt at once: one gets it.
      const [ra, rb] = await Promise.all([a.registry.adopt('alice', 'remote', a.owner), a.registry.adopt('alice', 'remote', 'pod-c@99')]);
      const winners = [ra, rb].filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ id: 'remote', computer: 'cua:http://127.0.0.1:9001' });
      // A session without such a computer, or a lost one, cannot be adopted.
      expect(await a.registry.adopt('alice', 'local', a.owner)).toBeUndefined();
      expect(await a.registry.adopt('alice', 'nothing', a.owner)).toBeUndefined();
    });

    it('the adopter owns the session from then on: it sweeps it, and it is lost only with the adopter', async () => {
      const { a, b } = await twoReplicas();
      await b.registry.admit(admission('alice', 'remote', { owner: b.owner, idleTimeoutMs: 1_000 }));
      await b.registry.assign('alice', 'remote', b.owner, 'cua:one');
      await b.directory.leave('pod-b', b.epoch);
      expect(await a.registry.adopt('alice', 'remote', a.owner)).toMatchObject({ owner: a.owner, computer: 'cua:one' });
      expect(await a.registry.assign('alice', 'remote', a.owner, 'cua:one')).toBe(true);
      expect(await b.registry.assign('alice', 'remote', b.owner, 'cua:two')).toBe(false);
      expect(await a.registry.get('alice', 'remote')).toMatchObject({ owner: a.owner, computer: 'cua:one' });
      expect(idsOf(await a.registry.claimExpired(T0 + 5_000, 10, a.owner))).toEqual(['alice/remote']);
    });

    it('marks at most `limit` at a time, and the rest on the next call', async () => {
      const { a, b } = await twoReplicas();
      for (let i = 0; i < 5; i++) await b.registry.admit(admission(`p${i % 2}`, `s${i}`, { owner: b.owner }));
      await b.directory.leave('pod-b', b.epoch);
      const first = await a.registry.markLost(3);
      const rest = await a.registry.markLost(3);
      expect(first).toHaveLength(3);
      expect(idsOf([...first, ...rest]).sort()).toEqual(['p0/s0', 'p0/s2', 'p0/s4', 'p1/s1', 'p1/s3']);
      expect(await a.registry.markLost(3)).toEqual([]);
      expect(await a.registry.count()).toBe(0);
    });
  });
}
