import { waitFor } from '../../test/support/wait-for';
import { ownerToken, type ReplicaDirectory } from './replica-directory';

/**
 * The contract every ReplicaDirectory backend passes, run by each backend's spec. `directories(n)`: `n` directories
 * over one fresh, empty store (what `n` replicas of the server would share).
 */
export function replicaDirectoryContract(harness: () => { directories(n: number): Promise<ReplicaDirectory[]> }): void {
  const join = (d: ReplicaDirectory, id: string, leaseMs = 60_000) => d.join({ id, startedAt: 1_000, version: '9.9.9' }, leaseMs);

  describe('the ReplicaDirectory contract', () => {
    it('gives every join a higher epoch than any before, across replicas and restarts of one id', async () => {
      const [a, b] = await harness().directories(2);
      const first = await join(a, 'pod-a');
      const second = await join(b, 'pod-b');
      const restarted = await join(a, 'pod-a');
      expect(first).toEqual({ id: 'pod-a', epoch: first.epoch, startedAt: 1_000, version: '9.9.9' });
      const addressed = await b.join({ id: 'pod-c', startedAt: 2_000, version: '9.9.9', address: '127.0.0.7:7070' }, 60_000);
      expect(await a.get('pod-c')).toEqual(addressed);
      expect(addressed.address).toBe('127.0.0.7:7070');
      await b.leave('pod-c', addressed.epoch);
      expect(second.epoch).toBeGreaterThan(first.epoch);
      expect(restarted.epoch).toBeGreaterThan(second.epoch);
      // The restart replaced the first incarnation: one entry per id.
      expect(await b.list()).toEqual([restarted, second]);
      expect(await b.get('pod-a')).toEqual(restarted);
    });

    it('holds an owner while its incarnation holds the lease: not an older incarnation, not after it leaves', async () => {
      const [a, b] = await harness().directories(2);
      const old = await join(a, 'pod-a');
      const now = await join(a, 'pod-a');
      expect(await b.holds(ownerToken('pod-a', now.epoch))).toBe(true);
      expect(await b.holds(ownerToken('pod-a', old.epoch))).toBe(false);
      expect(await b.holds(ownerToken('pod-z', now.epoch))).toBe(false);
      expect(await b.holds('not a token')).toBe(false);
      // Leaving is only for the incarnation that holds the lease.
      await a.leave('pod-a', old.epoch);
      expect(await b.holds(ownerToken('pod-a', now.epoch))).toBe(true);
      await a.leave('pod-a', now.epoch);
      expect(await b.holds(ownerToken('pod-a', now.epoch))).toBe(false);
      expect(await b.get('pod-a')).toBeUndefined();
      expect(await b.list()).toEqual([]);
    });

    it('renews only the incarnation that holds the lease', async () => {
      const [a] = await harness().directories(1);
      const old = await join(a, 'pod-a');
      expect(await a.renew('pod-a', old.epoch, 60_000)).toBe(true);
      const now = await join(a, 'pod-a');
      expect(await a.renew('pod-a', old.epoch, 60_000)).toBe(false);
      expect(await a.renew('pod-a', now.epoch, 60_000)).toBe(true);
      expect(await a.renew('pod-b', now.epoch, 60_000)).toBe(false);
    });

    it('drops a replica whose lease ran out: gone from get and list, and it cannot renew it back', async () => {
      const [a, b] = await harness().directories(2);
      const short = await join(a, 'pod-short', 300);
      const long = await join(a, 'pod-long');
      await waitFor('the short lease to run out', async () => (await b.get('pod-short')) === undefined, 5_000, 50);
      expect(await b.list()).toEqual([long]);
      expect(await a.renew('pod-short', short.epoch, 60_000)).toBe(false);
      expect(await b.holds(ownerToken('pod-short', short.epoch))).toBe(false);
    });

    it('pins a key to the replica that serves it, for as long as the pin lasts; a later pin replaces it', async () => {
      const [a, b] = await harness().directories(2);
      expect(await a.pinned('view-1')).toBeUndefined();
      await a.pin('view-1', 'pod-a@1', 60_000);
      expect(await b.pinned('view-1')).toBe('pod-a@1');
      await b.pin('view-1', 'pod-b@2', 60_000);
      expect(await a.pinned('view-1')).toBe('pod-b@2');
      await a.pin('view-2', 'pod-a@1', 200);
      await waitFor('the pin to run out', async () => (await b.pinned('view-2')) === undefined, 5_000, 50);
    });

    it('a renewed lease outlives its first term', async () => {
      const [a, b] = await harness().directories(2);
      const r = await join(a, 'pod-a', 1_000);
      const other = await join(a, 'pod-control', 1_000);
      // Renewed while the other is left alone: once the other's lease has run out, this one still holds.
      const renewing = setInterval(() => void a.renew('pod-a', r.epoch, 1_000), 100);
      try {
        await waitFor('the unrenewed lease to run out', async () => !(await b.holds(ownerToken('pod-control', other.epoch))), 5_000, 50);
        expect(await b.holds(ownerToken('pod-a', r.epoch))).toBe(true);
      } finally {
        clearInterval(renewing);
      }
    });
  });
}
