import { InMemoryMcpSessionRegistry } from './in-memory-mcp-session-registry';
import { mcpSessionRegistryContract } from './mcp-session-registry.contract';

describe(InMemoryMcpSessionRegistry.name, () => {
  // One process holds one registry: "replicas" of it are the same instance.
  mcpSessionRegistryContract(() => ({
    registries: async (n) => {
      const registry = new InMemoryMcpSessionRegistry();
      return Array.from({ length: n }, () => registry);
    },
  }));

  it('refuses openings with numbers that cannot be right, or an id it has already (programming errors)', async () => {
    const sut = new InMemoryMcpSessionRegistry();
    const record = { id: 'm1', principal: 'alice', protocolVersion: '2025-11-25', clientInfo: {}, clientCapabilities: {}, createdAt: 1, idleTimeoutMs: 1_000 };
    await expect(sut.open({ record, limits: { maxSessions: Infinity, maxSessionsPerPrincipal: 1 } })).rejects.toThrow(/maxSessions must be a whole number/);
    await expect(sut.open({ record: { ...record, idleTimeoutMs: -1 }, limits: { maxSessions: 1, maxSessionsPerPrincipal: 1 } })).rejects.toThrow(/idleTimeoutMs/);
    await sut.open({ record, limits: { maxSessions: 5, maxSessionsPerPrincipal: 5 } });
    await expect(sut.open({ record, limits: { maxSessions: 5, maxSessionsPerPrincipal: 5 } })).rejects.toThrow(/exists already/);
  });
});
