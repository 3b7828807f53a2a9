import { redisTestBed } from '../../test/support/redis-testbed';
import { waitFor } from '../../test/support/wait-for';
import { DomainErrorCode } from '../common/domain-error';
import { RegistryUnavailableError } from './cluster.errors';
import { mcpSessionRegistryContract } from './mcp-session-registry.contract';
import { RedisMcpSessionRegistry } from './redis-mcp-session-registry';
import { REGISTRY_PREFIX } from './redis-session-registry';

const T0 = 1_800_000_000_000;
const LIMITS = { maxSessions: 10, maxSessionsPerPrincipal: 10 };
const record = (id: string, principal = 'alice@example.com') => ({
  id,
  principal,
  protocolVersion: '2025-11-25',
  clientInfo: { name: 'inspector', version: '2.12.0' },
  clientCapabilities: { roots: { listChanged: true } },
  createdAt: T0,
  idleTimeoutMs: 60_000,
});

describe(RedisMcpSessionRegistry.name, () => {
  const bed = redisTestBed();
  /** A registry on its own connection: a replica of the server. */
  const replica = async () => new RedisMcpSessionRegistry(await bed.connection());

  mcpSessionRegistryContract(() => ({
    registries: async (n) => {
      await bed.admin.flushAll();
      return Promise.all(Array.from({ length: n }, () => replica()));
    },
  }));

  it('keeps each MCP session as a hash, indexed by expiry in all and per principal, and removes all of it when it ends', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    await sut.open({ record: record('4f1c'), limits: LIMITS });
    const key = `${REGISTRY_PREFIX}mcp:s:4f1c`;
    expect(await bed.admin.hGetAll(key)).toEqual({
      id: '4f1c',
      principal: 'alice@example.com',
      protocolVersion: '2025-11-25',
      clientInfo: '{"name":"inspector","version":"2.12.0"}',
      clientCapabilities: '{"roots":{"listChanged":true}}',
      createdAt: String(T0),
      lastActivityAt: String(T0),
      idleTimeoutMs: '60000',
    });
    expect(await bed.admin.zScore(`${REGISTRY_PREFIX}mcp:sessions`, '4f1c')).toBe(T0 + 60_000);
    expect(await bed.admin.zScore(`${REGISTRY_PREFIX}mcp:p:alice@example.com`, '4f1c')).toBe(T0 + 60_000);
    // Use and a longer idle timeout move the expiry in both indexes.
    await sut.touch('4f1c', T0 + 5_000);
    await sut.update('4f1c', { logLevel: 'warning', defaultSession: 'ses_1', idleTimeoutMs: 600_000 });
    expect(await bed.admin.hGetAll(key)).toMatchObject({ lastActivityAt: String(T0 + 5_000), logLevel: 'warning', defaultSession: 'ses_1', idleTimeoutMs: '600000' });
    expect(await bed.admin.zScore(`${REGISTRY_PREFIX}mcp:sessions`, '4f1c')).toBe(T0 + 605_000);
    expect(await bed.admin.zScore(`${REGISTRY_PREFIX}mcp:p:alice@example.com`, '4f1c')).toBe(T0 + 605_000);
    // No TTL anywhere: the sweep removes what expires, and ends what it held.
    expect(await bed.admin.pTTL(key)).toBe(-1);
    await sut.end('4f1c');
    expect(await bed.admin.keys('cua:*')).toEqual([]);
    // The sweep leaves nothing behind either.
    await sut.open({ record: record('5a2d', 'bob'), limits: LIMITS });
    expect(await sut.claimExpired(T0 + 60_001, 10)).toEqual([expect.objectContaining({ id: '5a2d', principal: 'bob' })]);
    expect(await bed.admin.keys('cua:*')).toEqual([]);
  });

  it('refuses an id it has already, and says which record is broken when a stored field is not what it wrote', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    await sut.open({ record: record('dup'), limits: LIMITS });
    await expect(sut.open({ record: record('dup'), limits: LIMITS })).rejects.toThrow(/MCP session dup exists already/);
    await bed.admin.hSet(`${REGISTRY_PREFIX}mcp:s:dup`, 'clientInfo', '{not json');
    await expect(sut.get('dup')).rejects.toThrow(/record of MCP session "dup" has no JSON in clientInfo/);
  });

  it('fails at once with REGISTRY_UNAVAILABLE while Redis is away, and works again once it is restarted on the same port', async () => {
    await bed.admin.flushAll();
    const sut = await replica();
    expect((await sut.open({ record: record('before'), limits: LIMITS })).admitted).toBe(true);
    await bed.server.kill();
    for (const call of [() => sut.open({ record: record('during'), limits: LIMITS }), () => sut.get('before'), () => sut.touch('before', T0 + 1), () => sut.claimExpired(T0, 10)]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect(error).toMatchObject({ code: DomainErrorCode.REGISTRY_UNAVAILABLE, message: expect.stringMatching(/^The session registry \(Redis at 127\.0\.0\.1:\d+\) is unreachable: .*Retry shortly\.$/) });
    }
    await bed.server.restart();
    await bed.admin.connect().catch(() => undefined);
    const after = await waitFor('the registry to open MCP sessions again', () => sut.open({ record: record('after'), limits: LIMITS }), 15_000);
    expect(after.admitted).toBe(true);
    // Without persistence the restarted Redis is empty: the MCP session opened before is gone.
    expect(await sut.get('before')).toBeUndefined();
    expect(await sut.count()).toBe(1);
  });
});
