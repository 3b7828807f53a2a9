import { hostname } from 'node:os';
import { Setting, defineSettings, type SettingsOf, type SettingsProblem, Int, Optional, Secret, Text } from '../config/settings';

const REPLICA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

class ClusterEnv {
  @Setting(
    'The Redis of the shared session registry, `redis://[[user]:password@]host[:port][/db]` (or `rediss://` for TLS). ' +
      "Unset: sessions are kept in this process's memory (one server, nothing to install). " +
      "Set: the records, caps and idle times of sessions and of 2025-era MCP sessions are kept there (an `Mcp-Session-Id` works on every replica); the server stops at start when Redis cannot be reached within `REDIS_CONNECT_TIMEOUT_MS`, " +
      'calls fail at once with `REGISTRY_UNAVAILABLE` and `/health/ready` answers not ready while it is unreachable. ' +
      'Point it at a managed or replicated Redis with persistence in production ([operations.md](operations.md#the-session-registry-redis)).',
    { secret: true },
  )
  @Optional() @Secret()
  REDIS_URL?: string;

  @Setting('How long the server waits at start for Redis (`REDIS_URL`) before it stops with an error naming the host; also the limit of each reconnection attempt.')
  @Int(100, 300_000)
  REDIS_CONNECT_TIMEOUT_MS = 10_000;

  @Setting(
    "Time limit of one call to Redis (a registry change, the readiness check's `PING`); beyond it the call fails with `REGISTRY_UNAVAILABLE`. " +
      'A change that timed out may still have been made; the idle sweep removes what nobody uses.',
  )
  @Int(50, 60_000)
  REDIS_COMMAND_TIMEOUT_MS = 2_000;

  @Setting(
    "This replica's name among the replicas sharing `REDIS_URL`: letters, digits, `.`, `_` and `-`, at most 63. " +
      "Unset: the host's name (in Kubernetes the pod's), made to fit. Two replicas running at once must not share one.",
  )
  @Optional() @Text(REPLICA_ID_PATTERN, 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters')
  REPLICA_ID?: string;

  @Setting(
    "How long this replica counts as alive after it last renewed its lease (it renews every third of it). A replica whose lease runs out " +
      "(it crashed, was killed, or could not reach Redis for that long) is gone for the others: the sessions whose computers it held answer `SESSION_LOST`.",
  )
  @Int(300, 600_000)
  REPLICA_LEASE_MS = 15_000;
}

/** The host's name as a replica id: characters outside the allowed ones become '-', cut to 63. */
export function replicaIdOf(host: string): string {
  const id = host.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return id === '' ? 'replica' : id;
}

/** What is wrong with REDIS_URL, in words that never repeat the value (it may hold a password). */
function redisUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL; write it as redis://[[user]:password@]host[:port][/db] or rediss://… for TLS';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `must start with redis:// or rediss:// (TLS), not ${url.protocol}//`;
  if (!url.hostname) return 'names no host; write it as redis://[[user]:password@]host[:port][/db]';
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) return 'may end only in a database number (/0 … /99)';
  if (url.search || url.hash) return 'must not carry a query or a fragment';
  return undefined;
}

/** host:port of a Redis URL: what messages and logs may show of it (never the credentials). */
export function redisTarget(value: string): string {
  const url = new URL(value);
  return `${url.hostname}:${url.port || '6379'}`;
}

export const CLUSTER_SETTINGS = defineSettings({
  namespace: 'cluster',
  title: 'Shared session registry (Redis) and replicas',
  docs: 'architecture.md',
  env: ClusterEnv,
  check: (env) => {
    const problems: SettingsProblem[] = [];
    const bad = env.REDIS_URL === undefined ? undefined : redisUrlProblem(env.REDIS_URL);
    if (bad) problems.push({ key: 'REDIS_URL', reason: bad });
    return problems;
  },
  // The whole URL, and its password alone (in case something prints it decoded or on its own).
  secrets: (env) => {
    if (!env.REDIS_URL) return [];
    try {
      const url = new URL(env.REDIS_URL);
      return [env.REDIS_URL, url.password, decodeURIComponent(url.password)].filter((s) => s !== '');
    } catch {
      return [env.REDIS_URL];
    }
  },
  build: (env) => ({
    /** REDIS_URL; undefined: the in-memory registry of this one process. */
    redisUrl: env.REDIS_URL,
    /** host:port of REDIS_URL, for messages; undefined without it. */
    redisTarget: env.REDIS_URL === undefined ? undefined : redisTarget(env.REDIS_URL),
    connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    replicaId: env.REPLICA_ID ?? replicaIdOf(hostname()),
    replicaLeaseMs: env.REPLICA_LEASE_MS,
  }),
});
export type ClusterSettings = SettingsOf<typeof CLUSTER_SETTINGS>;
