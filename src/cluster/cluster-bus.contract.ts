import { waitFor } from '../../test/support/wait-for';
import { CANCEL_NOTICE_LIMITS, type CancelNotice, type ClusterBus } from './cluster-bus';

/**
 * The contract every ClusterBus backend passes: one set of tests, run by each backend's spec
 * (in-memory-cluster-bus.spec.ts, redis-cluster-bus.spec.ts). Not built into dist (tsconfig excludes it).
 */
export interface ClusterBusHarness {
  /** `n` buses over one fresh medium, listening: what `n` replicas of the server would share. */
  buses(n: number): Promise<ClusterBus[]>;
}

/** What a listener heard, and a wait for it (delivery may be asynchronous, e.g. through Redis). */
function ear(bus: ClusterBus) {
  const heard: CancelNotice[] = [];
  const stop = bus.onCancel((n) => heard.push(n));
  return { heard, stop, until: (count: number, what: string) => waitFor(what, () => heard.length >= count && heard, 10_000, 10) };
}

const notice = (more: Partial<CancelNotice> = {}): CancelNotice => ({ mcpSession: '0b4e-m1', requestIds: ['call-1', 7], principal: 'alice@example.com', ...more });

export function clusterBusContract(harness: () => ClusterBusHarness): void {
  describe('the ClusterBus contract', () => {
    it('brings a notice published on one replica to every replica listening, the sender included, as it was sent', async () => {
      const [a, b, c] = await harness().buses(3);
      const ears = [ear(a), ear(b), ear(b), ear(c)];
      await a.publishCancel(notice({ reason: 'changed my mind' }));
      for (const [i, e] of ears.entries()) {
        expect(await e.until(1, `listener ${i} to hear the notice`)).toEqual([{ mcpSession: '0b4e-m1', requestIds: ['call-1', 7], principal: 'alice@example.com', reason: 'changed my mind' }]);
      }
      // In order, one each: a second notice is heard once, after the first.
      await c.publishCancel(notice({ requestIds: [8] }));
      expect((await ears[0].until(2, 'the second notice')).map((n) => n.requestIds)).toEqual([['call-1', 7], [8]]);
      expect(ears[0].heard).toHaveLength(2);
      expect(ears[0].heard[1]).not.toHaveProperty('reason');
    });

    it('stops bringing notices to a listener that stopped, and one listener that throws keeps no other from hearing', async () => {
      const [a, b] = await harness().buses(2);
      const stopped = ear(b);
      b.onCancel(() => {
        throw new Error('a broken listener');
      });
      const still = ear(b);
      stopped.stop();
      await a.publishCancel(notice());
      await still.until(1, 'the listener still listening to hear it');
      // The marker notice, published after the first, shows the first had its chance to reach the stopped listener.
      await a.publishCancel(notice({ requestIds: ['marker'] }));
      await still.until(2, 'the marker notice');
      expect(stopped.heard).toEqual([]);
    });

    it('refuses to send a notice beyond its bounds, and nobody hears it', async () => {
      const [a, b] = await harness().buses(2);
      const listener = ear(b);
      const tooMany = Array.from({ length: CANCEL_NOTICE_LIMITS.requestIds + 1 }, (_, i) => i);
      for (const bad of [notice({ requestIds: [] }), notice({ requestIds: tooMany }), notice({ mcpSession: '' }), notice({ reason: 'x'.repeat(CANCEL_NOTICE_LIMITS.reasonChars + 1) })]) {
        await expect(a.publishCancel(bad)).rejects.toThrow(/A cancel notice beyond its bounds/);
      }
      await a.publishCancel(notice({ requestIds: ['marker'] }));
      expect((await listener.until(1, 'the marker notice')).map((n) => n.requestIds)).toEqual([['marker']]);
    });
  });
}
