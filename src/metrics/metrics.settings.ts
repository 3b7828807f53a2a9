import { Setting, defineSettings, type SettingsOf, Optional, Secret } from '../config/settings';

class MetricsEnv {
  @Setting('When set (16+ characters), `GET /metrics` needs `Authorization: Bearer <token>`; unset: open.', { secret: true })
  @Optional() @Secret(16)
  METRICS_TOKEN?: string;
}

export const METRICS_SETTINGS = defineSettings({
  namespace: 'metrics',
  title: 'Metrics',
  env: MetricsEnv,
  build: (env) => ({ token: env.METRICS_TOKEN }),
});
export type MetricsSettings = SettingsOf<typeof METRICS_SETTINGS>;
