import { Module } from '@nestjs/common';
import { ClusterModule } from '../../cluster/cluster.module';
import { CuaDesktopConnector, DesktopConnector } from './desktop-connector';
import { KubernetesComputerProvider } from './kubernetes-computer.provider';
import { KubernetesMetrics } from './kubernetes.metrics';

/** Registers COMPUTER_PROVIDER=kubernetes (desktops as pods, or agent-sandbox claims); with REDIS_URL they are shared among the replicas. */
@Module({
  imports: [ClusterModule],
  providers: [KubernetesComputerProvider, KubernetesMetrics, { provide: DesktopConnector, useClass: CuaDesktopConnector }],
  exports: [KubernetesComputerProvider],
})
export class KubernetesComputerModule {}

export { KubernetesComputerProvider } from './kubernetes-computer.provider';
export type { KubernetesBackend } from './kubernetes-computer.provider';
export type { DesktopFailure } from './desktop-fleet';
