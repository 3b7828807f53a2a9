import { Setting, defineSettings, type SettingsOf, OneOf, Optional, Text } from '../config/settings';

class LogEnv {
  @Setting('`debug`, `info`, `warn` or `error`.')
  @OneOf(['debug', 'info', 'warn', 'error'])
  LOG_LEVEL = 'info';

  @Setting('`json`: one JSON object per line (see [operations.md](operations.md#logs)); `pretty`: Nest\'s lines, coloured on a terminal. Unset: `json` when `NODE_ENV=production`, else `pretty`.')
  @Optional() @OneOf(['json', 'pretty'])
  LOG_FORMAT?: string;

  @Setting('`production` makes `json` the default `LOG_FORMAT`.')
  @Optional() @Text()
  NODE_ENV?: string;
}

export const LOG_SETTINGS = defineSettings({
  namespace: 'log',
  title: 'Logs',
  env: LogEnv,
  build: (env) => ({
    level: env.LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error',
    format: (env.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty')) as 'json' | 'pretty',
  }),
});
export type LogSettings = SettingsOf<typeof LOG_SETTINGS>;
