import { Setting, defineSettings, type SettingsOf, HttpUrl, OneOf, Optional, Secret } from '../../config/settings';

class OpenAIEnv {
  @Setting('Key for `openai/…` models.', { secret: true })
  @Optional() @Secret()
  OPENAI_API_KEY?: string;

  @Setting('OpenAI API endpoint.')
  @HttpUrl('https://api.openai.com/v1')
  OPENAI_BASE_URL = 'https://api.openai.com/v1';

  @Setting('`auto`, `computer` (GA, batched actions) or `computer_use_preview`.')
  @OneOf(['auto', 'computer', 'computer_use_preview'])
  OPENAI_COMPUTER_TOOL = 'auto';
}

export const OPENAI_SETTINGS = defineSettings({
  namespace: 'openai',
  title: 'OpenAI models (openai/…)',
  env: OpenAIEnv,
  build: (env) => ({ apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL, computerTool: env.OPENAI_COMPUTER_TOOL }),
});
export type OpenAISettings = SettingsOf<typeof OPENAI_SETTINGS>;
