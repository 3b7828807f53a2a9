import { DynamicModule, Global, Module } from '@nestjs/common';
import { Settings } from './settings';

/**
 * Provides the settings validated once at boot: the whole (`Settings`) and each feature's
 * namespace under its declaration's token (read with `@InjectSettings(DECLARATION)`).
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(settings: Settings): DynamicModule {
    const namespaces = settings.declarations.map((d) => ({ provide: d.token, useValue: settings.get(d) }));
    return {
      module: ConfigModule,
      providers: [{ provide: Settings, useValue: settings }, ...namespaces],
      exports: [Settings, ...namespaces.map((n) => n.provide)],
    };
  }
}
export { ConfigValidationError, InjectSettings, Setting, Settings, defineSettings, declaredSettings, settingKeys } from './settings';
export { Bool, HttpUrl, Int, List, OneOf, Optional, RawText, Secret, Text, list } from './setting-rules';
export type { SettingsContext, SettingsDeclaration, SettingsOf, SettingsProblem } from './settings';
