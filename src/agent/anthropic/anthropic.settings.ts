import { Setting, defineSettings, type SettingsOf, HttpUrl, OneOf, Optional, Secret } from '../../config/settings';

class AnthropicEnv {
  @Setting('Key for `anthropic/…` models.', { secret: true })
  @Optional() @Secret()
  ANTHROPIC_API_KEY?: string;

  @Setting('Anthropic API endpoint (a proxy or gateway).')
  @HttpUrl()
  ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

  @Setting('`auto` (by model), `computer_toolset_20260801`, `computer_20251124` or `computer_20250124`.')
  @OneOf(['auto', 'computer_toolset_20260801', 'computer_20251124', 'computer_20250124'])
  ANTHROPIC_COMPUTER_TOOL = 'auto';
}

export const ANTHROPIC_SETTINGS = defineSettings({
  namespace: 'anthropic',
  title: 'Anthropic models (anthropic/…)',
  env: AnthropicEnv,
  build: (env) => ({ apiKey: env.ANTHROPIC_API_KEY, baseUrl: env.ANTHROPIC_BASE_URL, computerTool: env.ANTHROPIC_COMPUTER_TOOL }),
});
export type AnthropicSettings = SettingsOf<typeof ANTHROPIC_SETTINGS>;
