import { Module } from '@nestjs/common';
import { RedisConnection } from './redis-connection';

/**
 * What replicas of the server share. With REDIS_URL: the connection to Redis (connected at boot, closed at
 * shutdown, its state in readiness). Without: nothing to connect; everything stays in this process.
 */
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class ClusterModule {}

export { RedisConnection } from './redis-connection';
export { RegistryUnavailableError } from './cluster.errors';
