import { Module } from '@nestjs/common';
import { ClusterListener } from './cluster-listener';
import { ClusterProxy } from './cluster-proxy';
import { ClusterBus, InMemoryClusterBus } from './cluster-bus';
import { ComputerClaims, InMemoryComputerClaims } from './computer-claims';
import { RedisComputerClaims } from './redis-computer-claims';
import { InMemoryMcpSessionRegistry } from './in-memory-mcp-session-registry';
import { InMemoryQuotaLedger } from './in-memory-quota-ledger';
import { InMemorySessionRegistry } from './in-memory-session-registry';
import { McpSessionRegistry } from './mcp-session-registry';
import { QuotaLedger } from './quota-ledger';
import { RedisClusterBus } from './redis-cluster-bus';
import { RedisConnection } from './redis-connection';
import { RedisMcpSessionRegistry } from './redis-mcp-session-registry';
import { RedisQuotaLedger } from './redis-quota-ledger';
import { RedisReplicaDirectory } from './redis-replica-directory';
import { RedisSessionRegistry } from './redis-session-registry';
import { InMemoryReplicaDirectory, ReplicaDirectory } from './replica-directory';
import { SessionRegistry } from './session-registry';
import { ThisReplica } from './this-replica';

/**
 * What replicas of the server share: the session registry (SessionRegistry), the records of 2025-era MCP sessions
 * (McpSessionRegistry), what principals' agent work used and which agent tasks run (QuotaLedger), the directory of
 * live replicas (ReplicaDirectory, with ThisReplica keeping this process's lease in it), which replica holds each
 * remote computer (ComputerClaims), the notices replicas send each other (ClusterBus: cancelled calls) and, with REDIS_URL, the
 * connection to Redis (connected at boot, closed at shutdown, its state in readiness). Without REDIS_URL all are in
 * this process's memory; with it, all are on Redis. Never both for one registry: falling back to memory while Redis
 * is away would fork the state.
 */
@Module({
  providers: [
    RedisConnection,
    {
      provide: ReplicaDirectory,
      useFactory: (redis: RedisConnection): ReplicaDirectory => (redis.enabled ? new RedisReplicaDirectory(redis) : new InMemoryReplicaDirectory()),
      inject: [RedisConnection],
    },
    {
      provide: SessionRegistry,
      // In memory there is one process, so one owner, alive for as long as the registry itself: no directory to ask.
      useFactory: (redis: RedisConnection): SessionRegistry => (redis.enabled ? new RedisSessionRegistry(redis) : new InMemorySessionRegistry()),
      inject: [RedisConnection],
    },
    {
      provide: ComputerClaims,
      // In memory there is one process: its claims' holders live as long as it does.
      useFactory: (redis: RedisConnection): ComputerClaims => (redis.enabled ? new RedisComputerClaims(redis) : new InMemoryComputerClaims()),
      inject: [RedisConnection],
    },
    {
      provide: McpSessionRegistry,
      useFactory: (redis: RedisConnection): McpSessionRegistry => (redis.enabled ? new RedisMcpSessionRegistry(redis) : new InMemoryMcpSessionRegistry()),
      inject: [RedisConnection],
    },
    {
      provide: QuotaLedger,
      useFactory: (redis: RedisConnection): QuotaLedger => (redis.enabled ? new RedisQuotaLedger(redis) : new InMemoryQuotaLedger()),
      inject: [RedisConnection],
    },
    {
      // Redis's subscribes once the application has started and closes at shutdown (its own lifecycle hooks).
      provide: ClusterBus,
      useFactory: (redis: RedisConnection): ClusterBus => (redis.enabled ? new RedisClusterBus(redis) : new InMemoryClusterBus()),
      inject: [RedisConnection],
    },
    ClusterListener,
    ClusterProxy,
    ThisReplica,
  ],
  exports: [RedisConnection, SessionRegistry, ComputerClaims, McpSessionRegistry, QuotaLedger, ReplicaDirectory, ThisReplica, ClusterBus, ClusterListener, ClusterProxy],
})
export class ClusterModule {}

export { RedisConnection } from './redis-connection';
export { RegistryUnavailableError } from './cluster.errors';
export { SessionRegistry } from './session-registry';
export type { Admission, AdmissionResult, RegistrySessionKind, SessionLimits, SessionRecord } from './session-registry';
export { InMemorySessionRegistry } from './in-memory-session-registry';
export { ComputerClaims, InMemoryComputerClaims } from './computer-claims';
export type { ComputerClaim, TakeResult } from './computer-claims';
export { RedisComputerClaims } from './redis-computer-claims';
export { McpSessionRegistry } from './mcp-session-registry';
export type { JsonValue, McpSessionAdmission, McpSessionChanges, McpSessionLimits, McpSessionOpening, McpSessionRecord } from './mcp-session-registry';
export { InMemoryMcpSessionRegistry } from './in-memory-mcp-session-registry';
export { RedisMcpSessionRegistry } from './redis-mcp-session-registry';
export { QuotaLedger, LIMIT_ORDER, NO_LIMITS, USAGE_MEASURES, USAGE_WINDOWS, windowsAt } from './quota-ledger';
export type { PrincipalUsage, Ranking, StepReservation, TaskStart, UsageLimits, UsageMeasure, UsageTop, UsageWindow, WindowAt } from './quota-ledger';
export { InMemoryQuotaLedger } from './in-memory-quota-ledger';
export { RedisQuotaLedger } from './redis-quota-ledger';
export { ClusterBus, InMemoryClusterBus, CANCEL_NOTICE_LIMITS } from './cluster-bus';
export type { CancelNotice } from './cluster-bus';
export { RedisClusterBus } from './redis-cluster-bus';
export { RedisSessionRegistry } from './redis-session-registry';
export { InMemoryReplicaDirectory, ReplicaDirectory, ownerToken, parseOwner } from './replica-directory';
export type { ReplicaEntry } from './replica-directory';
export { RedisReplicaDirectory } from './redis-replica-directory';
export { ThisReplica } from './this-replica';
export { boundConnection, ClusterProxy, relayAnswer, splitAddress, type PeerAnswer } from './cluster-proxy';
export type { ForwardedHttpHandler } from './cluster-listener';
export { ClusterListener, FORWARDED_PATH, FORWARD_HEADERS, encodeIdentity, type ForwardedCall } from './cluster-listener';
export { signCall } from './cluster-signature';
