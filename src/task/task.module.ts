import { Module } from '@nestjs/common';
import { AgentModule } from '../agent/agent.module';
import { ComputerModule } from '../computer/computer.module';
import { PoolModule } from '../pool/pool.module';
import { QuotaModule } from '../quota/quota.module';
import { SessionModule } from '../session/session.module';
import { TaskService } from './task.service';

/**
 * Tasks in plain words on a session's computers: one, or several in sequence or at once. It joins the
 * agent loop (which drives one computer) with sessions and the pool (which own computers), so that
 * neither of those needs the other, and with the principal's quotas (admitted before a call starts,
 * asked before each step).
 */
@Module({ imports: [SessionModule, AgentModule, PoolModule, ComputerModule, QuotaModule], providers: [TaskService], exports: [TaskService] })
export class TaskModule {}

export { TaskService } from './task.service';
export type { MultiTaskOptions, TaskOutcome, TaskPauseEvent, TaskReport, TaskResumeEvent, TaskRetryEvent, TaskRunOptions, TaskStepDoneEvent, TaskStepEvent, TaskEvents } from './task.service';
export { ConcurrentTasksLimitError, TaskFailedError } from './task.errors';
export type { TaskFailureStage } from './task.errors';
