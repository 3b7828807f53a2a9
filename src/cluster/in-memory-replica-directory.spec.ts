import { InMemoryReplicaDirectory, ownerToken, parseOwner } from './replica-directory';
import { replicaDirectoryContract } from './replica-directory.contract';

describe(InMemoryReplicaDirectory.name, () => {
  // One process: "replicas" of it share the one instance.
  replicaDirectoryContract(() => ({
    directories: async (n) => {
      const directory = new InMemoryReplicaDirectory();
      return Array.from({ length: n }, () => directory);
    },
  }));

  it('owner tokens name one incarnation, and read back', () => {
    expect(ownerToken('pod-a', 7)).toBe('pod-a@7');
    expect(parseOwner('pod-a@7')).toEqual({ id: 'pod-a', epoch: 7 });
    expect(parseOwner('host@name@12')).toEqual({ id: 'host@name', epoch: 12 });
    for (const bad of ['pod-a', '@7', 'pod-a@', 'pod-a@x', 'pod-a@-1', 'pod-a@1.5']) expect(parseOwner(bad)).toBeUndefined();
  });
});
