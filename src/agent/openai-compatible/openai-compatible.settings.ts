import { Setting, defineSettings, type SettingsOf, HttpUrl, Int, Optional, Secret, Text } from '../../config/settings';

class OpenAICompatibleEnv {
  @Setting('Chat-completions endpoint for `openai-compatible/…` models, e.g. `http://127.0.0.1:8000/v1`.')
  @Optional() @HttpUrl('http://127.0.0.1:11434/v1')
  OPENAI_COMPATIBLE_BASE_URL?: string;

  @Setting('Its key, if it wants one.', { secret: true })
  @Optional() @Secret()
  OPENAI_COMPATIBLE_API_KEY?: string;

  @Setting(
    'How `openai-compatible/…` models are prompted and read ([model families](models.md#open-gui-agent-models-model-families)): ' +
      '`generic` (function calling with this server\'s action set), `uitars`, `qwen3-vl` (also EvoCUA), `qwen2.5-vl`, `opencua`, or a family a module registers.',
  )
  @Text(/^[a-z][a-z0-9.-]*$/, 'a family name such as generic, uitars, qwen3-vl, qwen2.5-vl or opencua')
  OPENAI_COMPATIBLE_MODEL_FAMILY = 'generic';

  @Setting(
    'Largest image, in pixels, sent to a family that sizes its own images (all but `generic`); default: the family\'s documented maximum. ' +
      'Set it to the serving engine\'s own image limit (e.g. vLLM\'s `max_pixels`) when that is lower, so the engine does not resize the image again.',
  )
  @Optional() @Int(3136, 16_777_216)
  OPENAI_COMPATIBLE_IMAGE_MAX_PIXELS?: number;
}

export const OPENAI_COMPATIBLE_SETTINGS = defineSettings({
  namespace: 'openai-compatible',
  title: 'OpenAI-compatible endpoints (openai-compatible/…)',
  env: OpenAICompatibleEnv,
  build: (env) => ({
    apiKey: env.OPENAI_COMPATIBLE_API_KEY,
    baseUrl: env.OPENAI_COMPATIBLE_BASE_URL,
    family: env.OPENAI_COMPATIBLE_MODEL_FAMILY,
    imageMaxPixels: env.OPENAI_COMPATIBLE_IMAGE_MAX_PIXELS,
  }),
});
export type OpenAICompatibleSettings = SettingsOf<typeof OPENAI_COMPATIBLE_SETTINGS>;
