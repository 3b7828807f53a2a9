import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { MetricsRegistry } from '../../metrics/metrics.module';
import { CuaComputerProvider } from './cua-computer.provider';

/** COMPUTER_PROVIDER=cua's Prometheus metrics: its remote computers by state. */
@Injectable()
export class CuaComputerMetrics implements OnModuleInit {
  constructor(
    private readonly provider: CuaComputerProvider,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const provider = this.provider;
    this.metrics?.gauge({
      name: 'cua_remote_computers',
      help: 'Remote cua computers (COMPUTER_PROVIDER=cua) by state: free, leased (or being reset), quarantined (reset or check failed; probed until it answers).',
      labelNames: ['state'],
      collect() {
        for (const [state, n] of Object.entries(provider.endpointCounts() ?? {})) this.set({ state }, n);
      },
    });
  }
}
