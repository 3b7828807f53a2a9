import { InMemorySessionRegistry } from './in-memory-session-registry';
import { InMemoryReplicaDirectory } from './replica-directory';
import { sessionRegistryContract } from './session-registry.contract';

describe(InMemorySessionRegistry.name, () => {
  // One process holds one registry: "replicas" of it are the same instance.
  sessionRegistryContract(() => ({
    registries: async (n) => {
      const registry = new InMemorySessionRegistry();
      return Array.from({ length: n }, () => registry);
    },
    replicas: async (n) => {
      const directory = new InMemoryReplicaDirectory();
      const registry = new InMemorySessionRegistry(directory);
      return Array.from({ length: n }, () => ({ registry, directory }));
    },
  }));

  it('refuses admissions with numbers that cannot be right (a programming error)', async () => {
    const sut = new InMemorySessionRegistry();
    const base = { id: 'x', principal: 'alice', kind: 'named' as const, idleTimeoutMs: 1_000, now: 1 };
    await expect(sut.admit({ ...base, limits: { maxSessions: Infinity, maxSessionsPerPrincipal: 1 } })).rejects.toThrow(/maxSessions must be a whole number/);
    await expect(sut.admit({ ...base, idleTimeoutMs: -1, limits: { maxSessions: 1, maxSessionsPerPrincipal: 1 } })).rejects.toThrow(/idleTimeoutMs/);
  });
});
