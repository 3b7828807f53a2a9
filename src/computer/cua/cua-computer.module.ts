import { Module } from '@nestjs/common';
import { ClusterModule } from '../../cluster/cluster.module';
import { CuaComputerMetrics } from './cua-computer.metrics';
import { CuaComputerProvider } from './cua-computer.provider';

/** Registers COMPUTER_PROVIDER=cua: remote cua computer-servers listed in CUA_COMPUTER_URLS. */
@Module({ imports: [ClusterModule], providers: [CuaComputerProvider, CuaComputerMetrics], exports: [CuaComputerProvider] })
export class CuaComputerModule {}

export { CuaComputerProvider } from './cua-computer.provider';
export { CuaComputer } from './cua-computer';
export type { CuaConnectOptions, CuaEndpoint, CuaServerInfo } from './cua-computer';
export type { EndpointState, EndpointStatus } from './cua-endpoints';
