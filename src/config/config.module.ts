import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config';

/** Validates the environment once at boot and provides the typed AppConfig everywhere. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}
export { AppConfig, ConfigValidationError, validateEnv } from './app-config';
export { DEFAULT_MODEL_NAME, EnvironmentVariables, SECRET_SETTINGS } from './env.schema';
export { nameCovers, nat64Of, parseDnsServers, parseEgressLists, parseRange, PRIVATE_RANGES, UNREACHABLE_RANGES } from './network-lists';
export type { DnsServer, EgressLists, IpRange } from './network-lists';
