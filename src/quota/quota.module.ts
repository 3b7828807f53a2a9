import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { Clock, SystemClock } from '../common/clock';
import { QuotaMetrics } from './quota.metrics';
import { QuotaService } from './quota.service';

/**
 * Quotas per principal: agent tasks running at once, agent steps and model tokens per UTC hour and day, counted in the
 * cluster's QuotaLedger (shared by replicas with REDIS_URL), with their figures for get_session_stats and the metrics.
 * The time comes from the Clock port (the system's), which tests replace to move through hours and days.
 */
@Module({
  imports: [ClusterModule],
  providers: [{ provide: Clock, useClass: SystemClock }, QuotaService, QuotaMetrics],
  exports: [QuotaService, Clock],
})
export class QuotaModule {}

export { Clock, SystemClock } from '../common/clock';
export { QuotaService, TaskAdmission } from './quota.service';
export type { QuotaEvents, QuotaFigures, StepBudget, WindowFigure } from './quota.service';
export { QuotaExceededError, QUOTA_SETTING } from './quota.errors';
export type { QuotaName, QuotaWindow } from './quota.errors';
export { OTHER_PRINCIPALS } from './quota.metrics';
