import { Module } from '@nestjs/common';
import { ComputerModule } from '../computer/computer.module';
import { ComputerPool } from './computer-pool.service';
import { ComputerPoolMetrics } from './computer-pool.metrics';

/** The pool of computers that sessions lease from. */
@Module({ imports: [ComputerModule], providers: [ComputerPool, ComputerPoolMetrics], exports: [ComputerPool] })
export class PoolModule {}

export { ComputerPool } from './computer-pool.service';
export type { AcquireOptions, Lease, PoolStats } from './computer-pool.service';
export type { PoolMetrics } from './pool-meter';
export { ComputerLimitError, PoolExhaustedError, PoolQueueFullError } from './pool.errors';
