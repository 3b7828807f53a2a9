import { Module } from '@nestjs/common';
import { InMemoryMcpSessionRegistry } from './in-memory-mcp-session-registry';
import { InMemorySessionRegistry } from './in-memory-session-registry';
import { McpSessionRegistry } from './mcp-session-registry';
import { RedisConnection } from './redis-connection';
import { RedisSessionRegistry } from './redis-session-registry';
import { SessionRegistry } from './session-registry';

/**
 * What replicas of the server share: the session registry (SessionRegistry), the records of 2025-era MCP sessions
 * (McpSessionRegistry) and, with REDIS_URL, the connection to Redis (connected at boot, closed at shutdown, its state
 * in readiness). Without REDIS_URL the registries are in this process's memory; with it, the session registry is on
 * Redis (the MCP session records stay in memory until their Redis backend is built). Never both for one registry:
 * falling back to memory while Redis is away would fork the state.
 */
@Module({
  providers: [
    RedisConnection,
    {
      provide: SessionRegistry,
      useFactory: (redis: RedisConnection): SessionRegistry => (redis.enabled ? new RedisSessionRegistry(redis) : new InMemorySessionRegistry()),
      inject: [RedisConnection],
    },
    { provide: McpSessionRegistry, useClass: InMemoryMcpSessionRegistry },
  ],
  exports: [RedisConnection, SessionRegistry, McpSessionRegistry],
})
export class ClusterModule {}

export { RedisConnection } from './redis-connection';
export { RegistryUnavailableError } from './cluster.errors';
export { SessionRegistry } from './session-registry';
export type { Admission, AdmissionResult, RegistrySessionKind, SessionLimits, SessionRecord } from './session-registry';
export { InMemorySessionRegistry } from './in-memory-session-registry';
export { McpSessionRegistry } from './mcp-session-registry';
export type { JsonValue, McpSessionAdmission, McpSessionChanges, McpSessionLimits, McpSessionOpening, McpSessionRecord } from './mcp-session-registry';
export { InMemoryMcpSessionRegistry } from './in-memory-mcp-session-registry';
export { RedisSessionRegistry } from './redis-session-registry';
