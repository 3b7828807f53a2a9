import { Setting, defineSettings, type SettingsOf, HttpUrl, Optional, Secret } from '../../config/settings';

class OpenAICompatibleEnv {
  @Setting('Chat-completions endpoint for `openai-compatible/…` models, e.g. `http://127.0.0.1:8000/v1`.')
  @Optional() @HttpUrl('http://127.0.0.1:11434/v1')
  OPENAI_COMPATIBLE_BASE_URL?: string;

  @Setting('Its key, if it wants one.', { secret: true })
  @Optional() @Secret()
  OPENAI_COMPATIBLE_API_KEY?: string;
}

export const OPENAI_COMPATIBLE_SETTINGS = defineSettings({
  namespace: 'openai-compatible',
  title: 'OpenAI-compatible endpoints (openai-compatible/…)',
  env: OpenAICompatibleEnv,
  build: (env) => ({ apiKey: env.OPENAI_COMPATIBLE_API_KEY, baseUrl: env.OPENAI_COMPATIBLE_BASE_URL }),
});
export type OpenAICompatibleSettings = SettingsOf<typeof OPENAI_COMPATIBLE_SETTINGS>;
