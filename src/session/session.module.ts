import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { PoolModule } from '../pool/pool.module';
import { SessionSweeper } from './session-sweeper';
import { SessionMetrics } from './session.metrics';
import { SessionService } from './session.service';

/** The sessions: who holds which computer, their running tasks, idle sweeps; their records in ClusterModule's SessionRegistry. */
@Module({ imports: [PoolModule, ClusterModule], providers: [SessionService, SessionSweeper, SessionMetrics], exports: [SessionService] })
export class SessionModule {}

export { connectionDefaultSessionId, principalDefaultSessionId, SessionService } from './session.service';
export type { ControlRelease, EndReason, EndResult, SessionRef, SessionView } from './session.service';
export { HumanControl } from './human-control';
export type { ControlReleaseReason, HumanControlEvents } from './human-control';
export { Session } from './session';
export { SessionSweeper } from './session-sweeper';
export { SessionEndedError, SessionLimitError, SessionNotFoundError, SessionUnderHumanControlError } from './session.errors';
