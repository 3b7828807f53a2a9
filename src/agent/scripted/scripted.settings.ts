import { Setting, defineSettings, type SettingsOf, Int } from '../../config/settings';

class ScriptedEnv {
  @Setting('Steps the scripted model (`scripted/…`, for tests and demos) takes.')
  @Int(1, 100)
  SCRIPTED_MODEL_STEPS = 4;

  @Setting('Simulated model latency per step.')
  @Int(0, 600_000)
  SCRIPTED_MODEL_STEP_MS = 0;
}

export const SCRIPTED_SETTINGS = defineSettings({
  namespace: 'scripted',
  title: 'The scripted model (scripted/…, for tests and demos)',
  env: ScriptedEnv,
  build: (env) => ({ steps: env.SCRIPTED_MODEL_STEPS, stepMs: env.SCRIPTED_MODEL_STEP_MS }),
});
export type ScriptedSettings = SettingsOf<typeof SCRIPTED_SETTINGS>;
