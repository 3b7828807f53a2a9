import '../app.module';
import { ConfigValidationError, Settings } from '../config/config.module';
import { hostname } from 'node:os';
import { CLUSTER_SETTINGS, replicaIdOf } from './cluster.settings';

function refusal(env: Record<string, string>): string {
  try {
    Settings.load(env);
  } catch (e) {
    if (e instanceof ConfigValidationError) return e.message;
    throw e;
  }
  throw new Error('the settings were accepted');
}

describe('CLUSTER_SETTINGS', () => {
  it('without REDIS_URL: the in-memory registry, and the documented timeouts', () => {
    expect(Settings.load({}).get(CLUSTER_SETTINGS)).toEqual({
      redisUrl: undefined,
      redisTarget: undefined,
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 2_000,
      replicaId: replicaIdOf(hostname()),
      replicaLeaseMs: 15_000,
    });
  });

  it('names the replica REPLICA_ID, or after the host, made to fit the allowed characters', () => {
    expect(Settings.load({ REPLICA_ID: 'pod-7.a_b' }).get(CLUSTER_SETTINGS).replicaId).toBe('pod-7.a_b');
    expect(replicaIdOf('cua-mcp-server-5f7d9c-x2x9z')).toBe('cua-mcp-server-5f7d9c-x2x9z');
    expect(replicaIdOf('-weird host@name!')).toBe('weird-host-name-');
    expect(replicaIdOf('x'.repeat(80))).toHaveLength(63);
    expect(replicaIdOf('***')).toBe('replica');
    expect(refusal({ REPLICA_ID: 'a@b' })).toMatch(/REPLICA_ID.*letters, digits/);
    expect(refusal({ REPLICA_ID: 'x'.repeat(64) })).toMatch(/REPLICA_ID/);
    expect(refusal({ REPLICA_LEASE_MS: '100' })).toMatch(/REPLICA_LEASE_MS.*300 to 600000/);
  });

  it('takes redis:// and rediss:// URLs, and shows only host:port of them', () => {
    const s = Settings.load({ REDIS_URL: 'redis://:p%40ss@127.0.0.1:6380/2' });
    expect(s.get(CLUSTER_SETTINGS)).toMatchObject({ redisUrl: 'redis://:p%40ss@127.0.0.1:6380/2', redisTarget: '127.0.0.1:6380' });
    expect(Settings.load({ REDIS_URL: 'rediss://redis.internal' }).get(CLUSTER_SETTINGS).redisTarget).toBe('redis.internal:6379');
  });

  it('counts REDIS_URL and its password among the secrets (redacted from what the agent records)', () => {
    const secrets = Settings.load({ REDIS_URL: 'redis://user:p%40ss@127.0.0.1:6380' }).secretValues();
    expect(secrets).toEqual(expect.arrayContaining(['redis://user:p%40ss@127.0.0.1:6380', 'p%40ss', 'p@ss']));
  });

  it.each([
    ['http://:hunter2@127.0.0.1:6379', /must start with redis:\/\/ or rediss:\/\/ \(TLS\), not http:/],
    ['redis:hunter2', /names no host/],
    ['not a url hunter2', /is not a URL/],
    ['redis://:hunter2@127.0.0.1:6379/sessions', /may end only in a database number/],
    ['redis://:hunter2@127.0.0.1:6379/0?pw=hunter2', /must not carry a query/],
  ])('refuses REDIS_URL=%s, saying why, without showing it', (url, reason) => {
    const message = refusal({ REDIS_URL: url });
    expect(message).toMatch(/REDIS_URL=\(secret\)/);
    expect(message).toMatch(reason);
    expect(message).not.toContain('hunter2');
  });

  it('refuses timeouts out of range', () => {
    expect(refusal({ REDIS_CONNECT_TIMEOUT_MS: '10' })).toMatch(/REDIS_CONNECT_TIMEOUT_MS="10": must be a whole number from 100 to 300000/);
    expect(refusal({ REDIS_COMMAND_TIMEOUT_MS: '0' })).toMatch(/REDIS_COMMAND_TIMEOUT_MS="0": must be a whole number from 50 to 60000/);
  });

  it('forwards between replicas only with REDIS_URL and a CLUSTER_SECRET of at least 32 characters, which stays secret', () => {
    const secret = 'x'.repeat(32);
    expect(refusal({ CLUSTER_PORT: '7070', CLUSTER_SECRET: secret })).toMatch(/CLUSTER_PORT.*needs REDIS_URL/);
    expect(refusal({ REDIS_URL: 'redis://127.0.0.1', CLUSTER_PORT: '7070' })).toMatch(/CLUSTER_SECRET.*must be set with CLUSTER_PORT/);
    expect(refusal({ REDIS_URL: 'redis://127.0.0.1', CLUSTER_PORT: '7070', CLUSTER_SECRET: 'short-secret' })).toMatch(/CLUSTER_SECRET.*at least 32/);
    expect(refusal({ REDIS_URL: 'redis://127.0.0.1', CLUSTER_PORT: '7070', CLUSTER_SECRET: 'short-secret' })).not.toContain('short-secret');
    const s = Settings.load({ REDIS_URL: 'redis://127.0.0.1', CLUSTER_PORT: '7070', CLUSTER_SECRET: secret, CLUSTER_ADDRESS: '127.0.0.5' });
    expect(s.get(CLUSTER_SETTINGS).forwarding).toEqual({ port: 7070, host: '0.0.0.0', address: '127.0.0.5', secret });
    expect(s.secretValues()).toContain(secret);
    expect(Settings.load({ REDIS_URL: 'redis://127.0.0.1', CLUSTER_PORT: '7070', CLUSTER_SECRET: secret }).get(CLUSTER_SETTINGS).forwarding?.address).toBe(hostname());
    expect(Settings.load({}).get(CLUSTER_SETTINGS).forwarding).toBeUndefined();
  });
});
