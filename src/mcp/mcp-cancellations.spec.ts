import { InMemoryClusterBus, type ClusterBus } from '../cluster/cluster.module';
import { TENANT_PERMISSIONS } from '../auth/auth.module';
import { sleep } from '../common/async';
import { DrainState } from '../lifecycle/lifecycle.module';
import { NoTracing } from '../tracing/tracing.module';
import type { SessionService } from '../session/session.module';
import { McpCancellations, noticesOf } from './mcp-cancellations';
import type { ToolContext } from './tool-context';
import { ToolRunner, type Extra } from './tools/tool-runner';

const SID = '6a1e4c2b-mcp';

/** A replica's worth: its own ToolRunner (no sessions are touched: a strict empty double) and its McpCancellations. */
function replica(bus: ClusterBus) {
  const tools = new ToolRunner({} as SessionService, new DrainState(), new NoTracing());
  const sut = new McpCancellations(tools, bus);
  sut.onModuleInit();
  /** A call of `principal` in MCP session SID, request `id`, that runs until it is stopped; its result. */
  const longCall = (principal: string, id: string | number) => {
    const identity = { principal, via: 'api-key' as const, permissions: TENANT_PERMISSIONS };
    const ctx = { principal, identity, client: { name: 'e2e', version: '1' }, connectionId: SID, mcpSession: SID, era: 'legacy' } as ToolContext;
    const extra = { mcpReq: { id, signal: new AbortController().signal, log: async () => undefined } } as unknown as Extra;
    return tools.run(
      'run_cua_task',
      ctx,
      extra,
      async ({ signal }) => {
        await sleep(600_000, signal);
        return { content: [] };
      },
      { task: 'wait' },
    );
  };
  return { sut, tools, longCall };
}

const cancelled = (requestId: unknown, reason?: string) => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, ...(reason !== undefined && { reason }) } });
const textOf = (r: { content: unknown[] }) => (r.content as { text?: string }[]).map((c) => c.text ?? '').join('');

describe(McpCancellations.name, () => {
  it('a cancellation received by one replica stops the call running on another, which answers CANCELLED with the client\'s reason', async () => {
    const bus = new InMemoryClusterBus();
    const [a, b] = [replica(bus), replica(bus)];
    const running = a.longCall('alice', 'call-1');
    await b.sut.cancelled(SID, 'alice', [cancelled('call-1', 'changed my mind')]);
    const result = await running;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^\[CANCELLED\] The client cancelled the call: changed my mind\./);
    expect(a.tools.count()).toBe(0);
  });

  it('stops only the calls of the MCP session\'s principal with those ids: another principal\'s call under the same ids runs on', async () => {
    const bus = new InMemoryClusterBus();
    const [a, b] = [replica(bus), replica(bus)];
    const alices = a.longCall('alice', 7);
    const bobs = a.longCall('bob', 7);
    const other = a.longCall('alice', 8);
    await b.sut.cancelled(SID, 'alice', [cancelled(7)]);
    expect(textOf(await alices)).toMatch(/^\[CANCELLED\] The client cancelled the call\./);
    expect(a.tools.count()).toBe(2);
    // The others stop only when theirs are cancelled.
    await b.sut.cancelled(SID, 'bob', [cancelled(7)]);
    expect(textOf(await bobs)).toMatch(/CANCELLED/);
    a.sut.onModuleDestroy();
    await b.sut.cancelled(SID, 'alice', [cancelled(8)]);
    expect(a.tools.count()).toBe(1);
    // A replica that stopped listening still stops its own calls when the cancellation reaches it directly.
    await a.sut.cancelled(SID, 'alice', [cancelled(8)]);
    expect(textOf(await other)).toMatch(/CANCELLED/);
  });

  it('stops the call here even when the other replicas cannot be told', async () => {
    const down: ClusterBus = {
      publishCancel: async () => {
        throw new Error('REGISTRY_UNAVAILABLE');
      },
      onCancel: () => () => undefined,
    };
    const a = replica(down);
    const running = a.longCall('alice', 'c');
    await a.sut.cancelled(SID, 'alice', [cancelled('c')]);
    expect(textOf(await running)).toMatch(/CANCELLED/);
  });

  it('cancelledHere, for a POST whose MCP session could not be checked, stops the principal\'s call here and tells nobody', async () => {
    const bus = new InMemoryClusterBus();
    const told: unknown[] = [];
    bus.onCancel((n) => told.push(n));
    const a = replica(bus);
    const alices = a.longCall('alice', 'c');
    const bobs = a.longCall('bob', 'c');
    a.sut.cancelledHere(SID, 'alice', [cancelled('c', 'registry away')]);
    expect(textOf(await alices)).toMatch(/^\[CANCELLED\] The client cancelled the call: registry away\./);
    expect([a.tools.count(), told.length]).toEqual([1, 0]);
    a.sut.cancelledHere(SID, 'bob', [cancelled('c')]);
    expect(textOf(await bobs)).toMatch(/CANCELLED/);
  });

  describe(noticesOf.name, () => {
    it('takes the cancellations among the messages, one notice per reason, within the bounds of a notice', () => {
      const many = Array.from({ length: 120 }, (_, i) => cancelled(i));
      const notices = noticesOf(SID, 'alice', [
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        cancelled('a', 'r1'),
        cancelled('b', 'r1'),
        cancelled('c'),
        cancelled({ not: 'an id' }),
        cancelled('x'.repeat(201)),
        cancelled(Number.NaN),
        cancelled('d', 'why'.repeat(100)),
        null,
        ...many,
      ]);
      expect(notices.map((n) => [n.requestIds.length, n.reason])).toEqual([
        [2, 'r1'],
        [50, undefined],
        [50, undefined],
        [21, undefined],
        [1, 'why'.repeat(100).slice(0, 200)],
      ]);
      expect(notices[0]).toEqual({ mcpSession: SID, principal: 'alice', requestIds: ['a', 'b'], reason: 'r1' });
      expect(notices[1].requestIds.slice(0, 2)).toEqual(['c', 0]);
    });
  });
});
