import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { DURATION_BUCKETS, MetricsRegistry } from '../metrics/metrics.module';
import { AgentService } from './agent.service';

/** The agent's Prometheus metrics: steps and model-call time, by model provider. */
@Injectable()
export class AgentMetrics implements OnModuleInit {
  constructor(
    private readonly agent: AgentService,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const steps = m.counter({ name: 'cua_agent_steps_total', help: 'Agent loop steps (model calls), by model provider.', labelNames: ['provider'] });
    const modelLatency = m.histogram({
      name: 'cua_model_request_duration_seconds',
      help: 'Time of one agent step\'s model call (including retries), by model provider.',
      labelNames: ['provider'],
      buckets: DURATION_BUCKETS,
    });
    m.on(this.agent.events, 'step', (e) => {
      steps.inc({ provider: e.provider });
      modelLatency.observe({ provider: e.provider }, e.modelMs / 1000);
    });
  }
}
