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

  @Setting(
    'The port on which this replica takes calls forwarded by the other replicas, for the sessions whose computers it holds (`xvfb` desktops live in ' +
      'one replica). Unset: no forwarding; a call for another replica\'s session answers an error naming it. Needs `REDIS_URL` and `CLUSTER_SECRET`. ' +
      'Only the replicas need to reach it (a NetworkPolicy can keep everyone else out); every request on it must carry a signature made with `CLUSTER_SECRET`.',
  )
  @Optional() @Int(0, 65_535)
  CLUSTER_PORT?: number;

  @Setting('The address `CLUSTER_PORT` listens on.')
  @Text()
  CLUSTER_HOST = '0.0.0.0';

  @Setting(
    "The host name or IP address the other replicas reach this one at (its `CLUSTER_PORT` is added). Unset: the host's name (in Kubernetes the pod's " +
      "name, which other pods cannot resolve: set the pod's IP from the downward API, `status.podIP`). Each replica registers its own address; a replica " +
      'forwards only to addresses registered this way.',
  )
  @Optional() @Text(/^[A-Za-z0-9.:[\]_-]{1,253}$/, 'a host name or an IP address')
  CLUSTER_ADDRESS?: string;

  @Setting(
    'The secret every replica signs and checks forwarded calls with (HMAC-SHA256 over the call, who made it, when and for which replica): at least 32 characters, ' +
      'the same on every replica; e.g. `openssl rand -hex 32`.',
    { secret: true },
  )
  @Optional() @Secret(32)
  CLUSTER_SECRET?: string;
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
    if (env.CLUSTER_PORT !== undefined && env.REDIS_URL === undefined) {
      problems.push({ key: 'CLUSTER_PORT', reason: 'needs REDIS_URL: replicas find each other and their sessions in the shared registry' });
    }
    if (env.CLUSTER_PORT !== undefined && env.CLUSTER_SECRET === undefined) {
      problems.push({ key: 'CLUSTER_SECRET', reason: 'must be set with CLUSTER_PORT: forwarded calls are signed with it (at least 32 characters, the same on every replica)' });
    }
    return problems;
  },
  // The whole URL, and its password alone (in case something prints it decoded or on its own).
  secrets: (env) => {
    const cluster = env.CLUSTER_SECRET ? [env.CLUSTER_SECRET] : [];
    if (!env.REDIS_URL) return cluster;
    try {
      const url = new URL(env.REDIS_URL);
      return [...cluster, env.REDIS_URL, url.password, decodeURIComponent(url.password)].filter((s) => s !== '');
    } catch {
      return [...cluster, env.REDIS_URL];
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
    /** Forwarding between replicas (CLUSTER_PORT), or undefined. */
    forwarding:
      env.CLUSTER_PORT === undefined || env.CLUSTER_SECRET === undefined
        ? undefined
        : { port: env.CLUSTER_PORT, host: env.CLUSTER_HOST, address: env.CLUSTER_ADDRESS ?? hostname(), secret: env.CLUSTER_SECRET },
  }),
});
export type ClusterSettings = SettingsOf<typeof CLUSTER_SETTINGS>;
