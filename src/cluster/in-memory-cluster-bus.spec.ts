import { InMemoryClusterBus } from './cluster-bus';
import { clusterBusContract } from './cluster-bus.contract';

describe(InMemoryClusterBus.name, () => {
  // One process holds one bus: "replicas" of it are the same instance.
  clusterBusContract(() => ({
    buses: async (n) => {
      const bus = new InMemoryClusterBus();
      return Array.from({ length: n }, () => bus);
    },
  }));

  it('calls its listeners before publishing returns: nothing to wait for within one process', async () => {
    const sut = new InMemoryClusterBus();
    const heard: unknown[] = [];
    sut.onCancel((n) => heard.push(n.requestIds));
    await sut.publishCancel({ mcpSession: 'm1', requestIds: [1], principal: 'alice' });
    expect(heard).toEqual([[1]]);
  });
});
