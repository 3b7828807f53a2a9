import { Module } from '@nestjs/common';
import { HostOriginPolicy } from './host-origin.policy';
import { HttpLimits } from './http-limits';
import { HttpMetrics } from './http.metrics';
import { ProbeServer } from './probe-server';

/** The HTTP servers themselves: the main port's timeouts and connection cap, the Host/Origin rules, and the optional probe port. */
@Module({ providers: [HttpLimits, HttpMetrics, ProbeServer, HostOriginPolicy], exports: [HttpLimits, ProbeServer, HostOriginPolicy] })
export class HttpModule {}

export { HostOriginPolicy, isLoopbackHost } from './host-origin.policy';
export { HttpLimits } from './http-limits';
export { ProbeServer } from './probe-server';
