import { computerClaimsContract } from './computer-claims.contract';
import { InMemoryComputerClaims } from './computer-claims';
import { InMemorySessionRegistry } from './in-memory-session-registry';
import { InMemoryReplicaDirectory } from './replica-directory';

describe(InMemoryComputerClaims.name, () => {
  computerClaimsContract(() => ({
    replicas: async (n) => {
      const directory = new InMemoryReplicaDirectory();
      const registry = new InMemorySessionRegistry(directory);
      const claims = new InMemoryComputerClaims(directory, (handle) => registry.sessionOn(handle) !== undefined);
      return Array.from({ length: n }, () => ({ claims, registry, directory }));
    },
  }));

  it('without a directory every holder is this process, alive: a held computer is never taken from it', async () => {
    const sut = new InMemoryComputerClaims();
    await sut.take('cua:one', 'pod-a@1');
    expect(await sut.take('cua:one', 'pod-b@2')).toEqual({ taken: false, holder: 'pod-a@1' });
    expect(await sut.adopt('cua:one', 'pod-b@2')).toEqual({ taken: false, holder: 'pod-a@1' });
  });
});
