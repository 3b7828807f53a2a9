import { Setting, defineSettings, type SettingsOf, HttpUrl, List, OneOf, Optional, Secret, list } from '../../config/settings';
import { GEMINI_PREDEFINED_FUNCTIONS } from './gemini-functions';

class GeminiEnv {
  @Setting('Key for `gemini/…` models (Gemini API).', { secret: true })
  @Optional() @Secret()
  GEMINI_API_KEY?: string;

  @Setting('Gemini API endpoint (a proxy or gateway).')
  @HttpUrl('https://generativelanguage.googleapis.com')
  GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';

  @Setting('The computer-use environment Gemini is told it operates: `auto` (`desktop`, or `browser` for the models that know only the browser), `desktop` or `browser`.')
  @OneOf(['auto', 'desktop', 'browser'])
  GEMINI_ENVIRONMENT = 'auto';

  @Setting('Comma-separated predefined computer-use functions Gemini must not call (its `excludedPredefinedFunctions`), e.g. `navigate,search`.')
  @Optional() @List(/^[a-z][a-z0-9_]*$/, 'function names such as navigate or key_combination')
  GEMINI_EXCLUDED_ACTIONS?: string;
}

export const GEMINI_SETTINGS = defineSettings({
  namespace: 'gemini',
  title: 'Gemini models (gemini/…)',
  docs: 'models.md#gemini',
  env: GeminiEnv,
  check: (env) => {
    const unknown = list(env.GEMINI_EXCLUDED_ACTIONS).filter((name) => !GEMINI_PREDEFINED_FUNCTIONS.includes(name));
    return unknown.length
      ? [{ key: 'GEMINI_EXCLUDED_ACTIONS', reason: `names no predefined function: ${unknown.join(', ')}. Known: ${GEMINI_PREDEFINED_FUNCTIONS.join(', ')}` }]
      : [];
  },
  build: (env) => ({
    apiKey: env.GEMINI_API_KEY,
    baseUrl: env.GEMINI_BASE_URL,
    environment: env.GEMINI_ENVIRONMENT as 'auto' | 'desktop' | 'browser',
    excludedActions: [...new Set(list(env.GEMINI_EXCLUDED_ACTIONS))],
  }),
});
export type GeminiSettings = SettingsOf<typeof GEMINI_SETTINGS>;
