import { Module } from '@nestjs/common';
import { InMemorySessionRegistry } from './in-memory-session-registry';
import { RedisConnection } from './redis-connection';
import { SessionRegistry } from './session-registry';

/**
 * What replicas of the server share: the session registry (SessionRegistry, for now always the in-memory backend;
 * RedisSessionRegistry passes the same contract) and, with REDIS_URL, the connection to Redis (connected at boot,
 * closed at shutdown, its state in readiness).
 */
@Module({
  providers: [RedisConnection, { provide: SessionRegistry, useClass: InMemorySessionRegistry }],
  exports: [RedisConnection, SessionRegistry],
})
export class ClusterModule {}

export { RedisConnection } from './redis-connection';
export { RegistryUnavailableError } from './cluster.errors';
export { SessionRegistry } from './session-registry';
export type { Admission, AdmissionResult, RegistrySessionKind, SessionLimits, SessionRecord } from './session-registry';
export { InMemorySessionRegistry } from './in-memory-session-registry';
export { RedisSessionRegistry } from './redis-session-registry';
