import { Module } from '@nestjs/common';
import { HttpLimits } from './http-limits';
import { HttpMetrics } from './http.metrics';
import { ProbeServer } from './probe-server';

/** The HTTP servers themselves: the main port's timeouts and connection cap, and the optional probe port. */
@Module({ providers: [HttpLimits, HttpMetrics, ProbeServer], exports: [HttpLimits, ProbeServer] })
export class HttpModule {}

export { HttpLimits } from './http-limits';
export { ProbeServer } from './probe-server';
