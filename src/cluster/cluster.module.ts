import { Module } from '@nestjs/common';
import { RedisConnection } from './redis-connection';

/**
 * What replicas of the server share. With REDIS_URL: the connection to Redis (connected at boot, closed at
 * shutdown, its state in readiness). Without: nothing to connect; everything stays in this process.
 * The session registry port (SessionRegistry) has two backends: InMemorySessionRegistry and RedisSessionRegistry.
 */
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class ClusterModule {}

export { RedisConnection } from './redis-connection';
export { RegistryUnavailableError } from './cluster.errors';
export { SessionRegistry } from './session-registry';
export type { Admission, AdmissionResult, RegistrySessionKind, SessionLimits, SessionRecord } from './session-registry';
export { InMemorySessionRegistry } from './in-memory-session-registry';
export { RedisSessionRegistry } from './redis-session-registry';
