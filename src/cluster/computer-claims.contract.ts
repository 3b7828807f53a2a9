import type { ComputerClaims } from './computer-claims';
import { ownerToken, type ReplicaDirectory } from './replica-directory';
import type { SessionRegistry } from './session-registry';

/**
 * The contract every ComputerClaims backend passes, run by each backend's spec (in-memory-computer-claims.spec.ts,
 * redis-computer-claims.spec.ts). Not built into dist (tsconfig excludes it).
 */
export interface ClaimsHarness {
  /** `n` replicas over one fresh, empty store: each one's claims, session registry and replica directory. */
  replicas(n: number): Promise<{ claims: ComputerClaims; registry: SessionRegistry; directory: ReplicaDirectory }[]>;
}

const T0 = 1_800_000_000_000;
const URL1 = 'cua:http://127.0.0.1:9001';

export function computerClaimsContract(harness: () => ClaimsHarness): void {
  describe('the ComputerClaims contract', () => {
    async function twoReplicas() {
      const [a, b] = await harness().replicas(2);
      const ea = await a.directory.join({ id: 'pod-a', startedAt: T0, version: '1' }, 60_000);
      const eb = await b.directory.join({ id: 'pod-b', startedAt: T0, version: '1' }, 60_000);
      return { a: { ...a, owner: ownerToken('pod-a', ea.epoch), epoch: ea.epoch }, b: { ...b, owner: ownerToken('pod-b', eb.epoch), epoch: eb.epoch } };
    }

    it('one computer goes to one replica at a time: the other hears who holds it, until it is released', async () => {
      const { a, b } = await twoReplicas();
      expect(await a.claims.take(URL1, a.owner)).toEqual({ taken: true });
      expect(await b.claims.take(URL1, b.owner)).toEqual({ taken: false, holder: a.owner });
      expect(await a.claims.take(URL1, a.owner)).toEqual({ taken: true });
      expect(await b.claims.release(URL1, b.owner)).toBe(false);
      expect(await a.claims.get(URL1)).toEqual({ holder: a.owner });
      expect(await a.claims.release(URL1, a.owner)).toBe(true);
      expect(await b.claims.get(URL1)).toBeUndefined();
      expect(await b.claims.take(URL1, b.owner)).toEqual({ taken: true });
    });

    it('two replicas taking one computer many times at once: one gets it every time, the other never', async () => {
      const { a, b } = await twoReplicas();
      const who = Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b));
      const tries = await Promise.all(who.map((r) => r.claims.take(URL1, r.owner)));
      const holder = (await a.claims.get(URL1))!.holder;
      expect(tries).toEqual(who.map((r) => (r.owner === holder ? { taken: true } : { taken: false, holder })));
    });

    it('keeps the holder\'s note with the claim; nobody else can change it', async () => {
      const { a, b } = await twoReplicas();
      await a.claims.take(URL1, a.owner);
      expect(await a.claims.keep(URL1, a.owner, '{"files":["/tmp/a"]}')).toBe(true);
      expect(await b.claims.keep(URL1, b.owner, 'other')).toBe(false);
      expect(await b.claims.get(URL1)).toEqual({ holder: a.owner, state: '{"files":["/tmp/a"]}' });
    });

    it('a gone holder\'s computer is free again, with that holder\'s claim handed to the one who takes it', async () => {
      const { a, b } = await twoReplicas();
      await b.claims.take(URL1, b.owner);
      await b.claims.keep(URL1, b.owner, 'baseline-of-b');
      await b.directory.leave('pod-b', b.epoch);
      expect(await a.claims.take(URL1, a.owner)).toEqual({ taken: true, previous: { holder: b.owner, state: 'baseline-of-b' } });
      expect(await a.claims.get(URL1)).toMatchObject({ holder: a.owner });
    });

    it('a gone holder\'s computer that a session\'s record names waits for that session: take refuses it, adopt takes it', async () => {
      const { a, b } = await twoReplicas();
      await b.registry.admit({ id: 'work', principal: 'alice', kind: 'named', idleTimeoutMs: 60_000, now: T0, owner: b.owner, limits: { maxSessions: 9, maxSessionsPerPrincipal: 9 } });
      await b.claims.take(URL1, b.owner);
      await b.registry.assign('alice', 'work', b.owner, URL1);
      await b.directory.leave('pod-b', b.epoch);
      expect(await a.claims.take(URL1, a.owner)).toEqual({ taken: false, holder: b.owner });
      expect(await a.claims.adopt(URL1, a.owner)).toEqual({ taken: true, previous: { holder: b.owner } });
      // Once the session has ended, nothing waits for the computer.
      await a.claims.release(URL1, a.owner);
      await a.claims.take(URL1, b.owner); // as if the gone replica still held it
      expect(await a.registry.end('alice', 'work')).toBeDefined();
      expect(await a.claims.take(URL1, a.owner)).toEqual({ taken: true, previous: { holder: b.owner } });
    });

    it('adopt never takes a computer from a live holder', async () => {
      const { a, b } = await twoReplicas();
      await b.claims.take(URL1, b.owner);
      expect(await a.claims.adopt(URL1, a.owner)).toEqual({ taken: false, holder: b.owner });
    });
  });
}
