import { Module } from '@nestjs/common';
import { InMemorySessionRegistry } from './in-memory-session-registry';
import { RedisConnection } from './redis-connection';
import { RedisSessionRegistry } from './redis-session-registry';
import { SessionRegistry } from './session-registry';

/**
 * What replicas of the server share: the session registry (SessionRegistry) and, with REDIS_URL, the connection to
 * Redis (connected at boot, closed at shutdown, its state in readiness). Without REDIS_URL the registry is in this
 * process's memory; with it, on Redis. Never both: falling back to memory while Redis is away would fork the state.
 */
@Module({
  providers: [
    RedisConnection,
    {
      provide: SessionRegistry,
      useFactory: (redis: RedisConnection): SessionRegistry => (redis.enabled ? new RedisSessionRegistry(redis) : new InMemorySessionRegistry()),
      inject: [RedisConnection],
    },
  ],
  exports: [RedisConnection, SessionRegistry],
})
export class ClusterModule {}

export { RedisConnection } from './redis-connection';
export { RegistryUnavailableError } from './cluster.errors';
export { SessionRegistry } from './session-registry';
export type { Admission, AdmissionResult, RegistrySessionKind, SessionLimits, SessionRecord } from './session-registry';
export { InMemorySessionRegistry } from './in-memory-session-registry';
export { RedisSessionRegistry } from './redis-session-registry';
