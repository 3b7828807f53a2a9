import { Module } from '@nestjs/common';
import { CuaDesktopConnector, DesktopConnector } from './desktop-connector';
import { KubernetesComputerProvider } from './kubernetes-computer.provider';
import { KubernetesMetrics } from './kubernetes.metrics';

/** Registers COMPUTER_PROVIDER=kubernetes (desktops as pods, or agent-sandbox claims). */
@Module({
  providers: [KubernetesComputerProvider, KubernetesMetrics, { provide: DesktopConnector, useClass: CuaDesktopConnector }],
  exports: [KubernetesComputerProvider],
})
export class KubernetesComputerModule {}

export { KubernetesComputerProvider } from './kubernetes-computer.provider';
export type { KubernetesBackend } from './kubernetes-computer.provider';
export type { DesktopFailure } from './desktop-fleet';
