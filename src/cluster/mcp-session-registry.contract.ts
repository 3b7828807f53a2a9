import type { McpSessionAdmission, McpSessionLimits, McpSessionOpening, McpSessionRecord, McpSessionRegistry } from './mcp-session-registry';
import { seededRandom } from '../../test/support/prng';

/**
 * The contract every McpSessionRegistry backend passes: one set of tests, run by each backend's spec
 * (in-memory-mcp-session-registry.spec.ts). Not built into dist (tsconfig excludes it).
 */
export interface McpSessionRegistryHarness {
  /** `n` registries over one fresh, empty store: what `n` replicas of the server would share. */
  registries(n: number): Promise<McpSessionRegistry[]>;
}

const T0 = 1_800_000_000_000;
const LIMITS: McpSessionLimits = { maxSessions: 100, maxSessionsPerPrincipal: 100 };

function opening(principal: string, id: string, more: Partial<McpSessionOpening['record']> = {}, limits = LIMITS): McpSessionOpening {
  return {
    record: { id, principal, protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, clientCapabilities: {}, createdAt: T0, idleTimeoutMs: 60_000, ...more },
    limits,
  };
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const idsOf = (rs: McpSessionRecord[]) => rs.map((r) => r.id);

export function mcpSessionRegistryContract(harness: () => McpSessionRegistryHarness): void {
  const one = async () => (await harness().registries(1))[0];

  describe('the McpSessionRegistry contract', () => {
    it('opens an MCP session and keeps its record: who, the protocol version, what the client declared, when, its idle timeout', async () => {
      const sut = await one();
      const r = await sut.open(opening('alice', 'm1', { clientInfo: { name: 'inspector', version: '2.12.0' }, clientCapabilities: { roots: { listChanged: true } }, idleTimeoutMs: 5_000 }));
      const record: McpSessionRecord = {
        id: 'm1',
        principal: 'alice',
        protocolVersion: '2025-11-25',
        clientInfo: { name: 'inspector', version: '2.12.0' },
        clientCapabilities: { roots: { listChanged: true } },
        createdAt: T0,
        lastActivityAt: T0,
        idleTimeoutMs: 5_000,
      };
      expect(r).toEqual({ admitted: true, record });
      expect(await sut.get('m1')).toEqual(record);
      expect(await sut.get('m2')).toBeUndefined();
      expect(await sut.count()).toBe(1);
      expect(await sut.countOf('alice')).toBe(1);
    });

    it('holds each principal\'s cap, while other principals still get in, and says the principal\'s cap first when both are reached', async () => {
      const sut = await one();
      const limits = { maxSessions: 3, maxSessionsPerPrincipal: 2 };
      for (const id of ['a1', 'a2']) expect((await sut.open(opening('alice', id, {}, limits))).admitted).toBe(true);
      expect(await sut.open(opening('alice', 'a3', {}, limits))).toEqual({ admitted: false, refused: 'principal', max: 2 });
      expect((await sut.open(opening('bob', 'b1', {}, limits))).admitted).toBe(true);
      // The server is full now, and alice is at her own cap too: hers is the cap that matters to her.
      expect(await sut.open(opening('alice', 'a4', {}, limits))).toEqual({ admitted: false, refused: 'principal', max: 2 });
      expect(await sut.open(opening('carol', 'c1', {}, limits))).toEqual({ admitted: false, refused: 'server', max: 3 });
      expect(await sut.end('bob')).toBeUndefined();
      expect(await sut.end('b1')).toMatchObject({ id: 'b1', principal: 'bob' });
      expect((await sut.open(opening('carol', 'c1', {}, limits))).admitted).toBe(true);
      expect([await sut.count(), await sut.countOf('alice'), await sut.countOf('bob'), await sut.countOf('carol')]).toEqual([3, 2, 0, 1]);
    });

    it('touch marks use (never moving back in time); update changes the log level, default session and idle timeout; neither finds an unknown id', async () => {
      const sut = await one();
      await sut.open(opening('alice', 'm1'));
      expect(await sut.touch('m1', T0 + 1_000)).toMatchObject({ id: 'm1', lastActivityAt: T0 + 1_000, createdAt: T0 });
      expect((await sut.touch('m1', T0 + 500))?.lastActivityAt).toBe(T0 + 1_000);
      expect(await sut.update('m1', { logLevel: 'warning' })).toMatchObject({ logLevel: 'warning', lastActivityAt: T0 + 1_000 });
      expect(await sut.update('m1', { defaultSession: 'ses_x', idleTimeoutMs: 600_000 })).toMatchObject({ logLevel: 'warning', defaultSession: 'ses_x', idleTimeoutMs: 600_000 });
      expect(await sut.get('m1')).toMatchObject({ logLevel: 'warning', defaultSession: 'ses_x', idleTimeoutMs: 600_000, protocolVersion: '2025-11-25' });
      expect(await sut.touch('nope', T0 + 9_000)).toBeUndefined();
      expect(await sut.update('nope', { logLevel: 'debug' })).toBeUndefined();
      expect(await sut.get('nope')).toBeUndefined();
    });

    it('ends a record once: the first end gets it, every other gets nothing, and it is gone for touch and update', async () => {
      const sut = await one();
      await sut.open(opening('alice', 'm1'));
      const ends = await Promise.all([sut.end('m1'), sut.end('m1'), sut.end('m1')]);
      expect(ends.filter((e) => e !== undefined)).toEqual([expect.objectContaining({ id: 'm1', principal: 'alice' })]);
      expect(await sut.touch('m1', T0 + 1)).toBeUndefined();
      expect(await sut.update('m1', { logLevel: 'info' })).toBeUndefined();
      expect([await sut.count(), await sut.countOf('alice')]).toEqual([0, 0]);
    });

    it('claims only records unused past their own idle timeout, the longest expired first, at most `limit`, and removes them', async () => {
      const sut = await one();
      await sut.open(opening('alice', 'short', { idleTimeoutMs: 1_000 }));
      await sut.open(opening('alice', 'shorter', { idleTimeoutMs: 500 }));
      await sut.open(opening('bob', 'long', { idleTimeoutMs: 10_000 }));
      await sut.open(opening('bob', 'used', { idleTimeoutMs: 1_000 }));
      await sut.touch('used', T0 + 1_500);
      expect(await sut.soonestExpiry()).toBe(T0 + 500);
      expect(await sut.soonestExpiry('bob')).toBe(T0 + 2_500);
      expect(await sut.soonestExpiry('carol')).toBeUndefined();
      // Exactly at its timeout a record is not expired yet: it must have been unused for longer.
      expect(await sut.claimExpired(T0 + 500, 10)).toEqual([]);
      expect(idsOf(await sut.claimExpired(T0 + 2_000, 1))).toEqual(['shorter']);
      expect(idsOf(await sut.claimExpired(T0 + 2_000, 10))).toEqual(['short']);
      expect(await sut.claimExpired(T0 + 2_000, 10)).toEqual([]);
      expect([await sut.count(), await sut.countOf('alice')]).toEqual([2, 0]);
      // A longer idle timeout set later counts from then on.
      await sut.update('used', { idleTimeoutMs: 60_000 });
      expect(idsOf(await sut.claimExpired(T0 + 20_000, 10))).toEqual(['long']);
      expect(await sut.count()).toBe(1);
    });

    it('hands each expired record to exactly one of many sweepers running at once', async () => {
      const replicas = await harness().registries(4);
      const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
      for (const [i, id] of ids.entries()) await replicas[i % 4].open(opening(`p${i % 3}`, id, { idleTimeoutMs: 1_000 + i }));
      const claimed: McpSessionRecord[] = [];
      await Promise.all(
        replicas.flatMap((r) =>
          Array.from({ length: 3 }, async () => {
            for (let batch = await r.claimExpired(T0 + 60_000, 3); batch.length; batch = await r.claimExpired(T0 + 60_000, 3)) claimed.push(...batch);
          }),
        ),
      );
      expect(idsOf(claimed).sort()).toEqual([...ids].sort());
      expect(await replicas[1].count()).toBe(0);
    });

    it('never opens beyond a cap under concurrent openings and ends from several replicas (randomized)', async () => {
      for (const seed of [3, 11, 2_025]) {
        const rnd = seededRandom(seed);
        const replicas = await harness().registries(3);
        const principals = ['p0', 'p1', 'p2', 'p3'];
        const limits = { maxSessions: 4 + Math.floor(rnd() * 6), maxSessionsPerPrincipal: 1 + Math.floor(rnd() * 3) };
        const opened: { principal: string; id: string; r: McpSessionAdmission }[] = await Promise.all(
          Array.from({ length: 60 }, async (_, i) => {
            const principal = pick(rnd, principals);
            const id = `s${seed}-${i}`;
            return { principal, id, r: await pick(rnd, replicas).open(opening(principal, id, { createdAt: T0 + i }, limits)) };
          }),
        );
        const why = `seed ${seed}, limits ${JSON.stringify(limits)}`;
        const admitted = opened.filter((x) => x.r.admitted);
        const perPrincipal = principals.map((p) => admitted.filter((x) => x.principal === p).length);
        // Every serial order admits each principal's openings up to its cap, until the server's cap.
        const expected = Math.min(limits.maxSessions, principals.reduce((n, p) => n + Math.min(limits.maxSessionsPerPrincipal, opened.filter((x) => x.principal === p).length), 0));
        expect({ why, admitted: admitted.length, fits: perPrincipal.every((n) => n <= limits.maxSessionsPerPrincipal) }).toEqual({ why, admitted: expected, fits: true });
        // Ending half of them at once, from any replica, frees exactly their places.
        const ending = admitted.filter(() => rnd() < 0.5);
        await Promise.all(ending.map((x) => pick(rnd, replicas).end(x.id)));
        expect({ why, count: await replicas[0].count() }).toEqual({ why, count: admitted.length - ending.length });
        for (const p of principals) {
          const left = admitted.filter((x) => x.principal === p && !ending.includes(x)).length;
          expect({ why, p, n: await replicas[2].countOf(p) }).toEqual({ why, p, n: left });
        }
      }
    });
  });
}
