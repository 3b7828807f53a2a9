import { Setting, defineSettings, type SettingsOf, Int } from '../config/settings';

class LifecycleEnv {
  @Setting('On SIGTERM/SIGINT, how long running calls may finish before they are aborted.')
  @Int(0, 3_600_000)
  SHUTDOWN_GRACE_MS = 30_000;
}

export const LIFECYCLE_SETTINGS = defineSettings({
  namespace: 'shutdown',
  title: 'Shutdown',
  env: LifecycleEnv,
  build: (env) => ({ graceMs: env.SHUTDOWN_GRACE_MS }),
});
export type LifecycleSettings = SettingsOf<typeof LIFECYCLE_SETTINGS>;
