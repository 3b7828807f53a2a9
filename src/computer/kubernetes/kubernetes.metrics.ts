import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { MetricsRegistry } from '../../metrics/metrics.module';
import { KubernetesComputerProvider } from './kubernetes-computer.provider';

/** COMPUTER_PROVIDER=kubernetes's Prometheus metrics: desktops that failed or were lost, by reason. */
@Injectable()
export class KubernetesMetrics implements OnModuleInit {
  constructor(
    private readonly provider: KubernetesComputerProvider,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const failures = m.counter({
      name: 'cua_desktop_pod_failures_total',
      help: 'Kubernetes desktops (pods or sandbox claims) that failed to start or were lost, by reason (ImagePullBackOff, CrashLoopBackOff, ReadyTimeout, Unschedulable, Deleted …).',
      labelNames: ['reason'],
    });
    m.on(this.provider.events, 'failure', (f) => failures.inc({ reason: f.reason }));
  }
}
