import { Setting, defineSettings, type SettingsOf, Bool, Int, List, Text, Optional, list } from '../config/settings';

/** The default model: a current Claude model with computer use (the GA toolset). */
export const DEFAULT_MODEL_NAME = 'anthropic/claude-sonnet-5-5';
const MODEL_NAME = /^[a-z][a-z0-9-]*\/\S+$/;

class AgentEnv {
  @Setting('The agent\'s model, `provider/model` (see [models.md](models.md); each model provider has its own section here).')
  @Text(MODEL_NAME, 'provider/model, e.g. anthropic/claude-sonnet-5-5 or scripted/demo')
  CUA_MODEL_NAME = DEFAULT_MODEL_NAME;

  @Setting('Comma-separated `provider/model` names a call may pick with `model`; `CUA_MODEL_NAME` is always allowed.')
  @Optional() @List(MODEL_NAME, 'provider/model names')
  AGENT_ALLOWED_MODELS?: string;

  @Setting('Step limit of one task (`AGENT_STEP_LIMIT` beyond it).')
  @Int(1, 1000)
  AGENT_MAX_STEPS = 50;

  @Setting('Time limit of one task (`TIMEOUT` beyond it; the model request in flight is aborted).')
  @Int(100, 86_400_000)
  AGENT_TASK_TIMEOUT_MS = 900_000;

  @Setting('Time limit of one model request (a timed-out request is retried).')
  @Int(100, 3_600_000)
  AGENT_MODEL_TIMEOUT_MS = 300_000;

  @Setting('Retries of a model call after 408/409/429/5xx/overloaded or network errors.')
  @Int(0, 20)
  AGENT_MAX_RETRIES = 4;

  @Setting('Retry backoff without `retry-after`: doubling from this, capped at `AGENT_RETRY_MAX_MS`, with jitter.')
  @Int(1, 600_000)
  AGENT_RETRY_BASE_MS = 1000;

  @Setting('The cap of that backoff (at least `AGENT_RETRY_BASE_MS`).')
  @Int(1, 3_600_000)
  AGENT_RETRY_MAX_MS = 30_000;

  @Setting('Input + output tokens one task may use (`AGENT_TOKEN_LIMIT` beyond it).')
  @Int(1000, 1_000_000_000)
  AGENT_MAX_TOKENS_PER_TASK = 2_000_000;

  @Setting('Most recent screenshots sent to the model; older ones become a text placeholder.')
  @Int(1, 100)
  CUA_MAX_IMAGES = 3;

  @Setting('`true` acknowledges what a model\'s safety system holds for a person to confirm (OpenAI\'s pending safety checks, Gemini\'s `require_confirmation` decisions) and acts; otherwise such a task stops with `SAFETY_CHECK`.')
  @Bool()
  AGENT_ACK_SAFETY_CHECKS = false;

  @Setting('Heartbeat progress interval during a task.')
  @Int(50, 60_000)
  PROGRESS_HEARTBEAT_MS = 10_000;
}

export const AGENT_SETTINGS = defineSettings({
  namespace: 'agent',
  title: 'The agent (run_cua_task)',
  env: AgentEnv,
  check: (env) =>
    env.AGENT_RETRY_MAX_MS < env.AGENT_RETRY_BASE_MS ? [{ key: 'AGENT_RETRY_MAX_MS', after: ['AGENT_RETRY_BASE_MS'], reason: `must be at least AGENT_RETRY_BASE_MS (${env.AGENT_RETRY_BASE_MS})` }] : [],
  build: (env, ctx) => ({
    modelName: env.CUA_MODEL_NAME,
    /** False when CUA_MODEL_NAME was left at its default (then a missing key only warns at boot). */
    modelNameExplicit: ctx.given('CUA_MODEL_NAME'),
    /** Models a call may pick with `model` (always includes modelName). */
    allowedModels: [...new Set([env.CUA_MODEL_NAME, ...list(env.AGENT_ALLOWED_MODELS)])],
    maxSteps: env.AGENT_MAX_STEPS,
    taskTimeoutMs: env.AGENT_TASK_TIMEOUT_MS,
    modelTimeoutMs: env.AGENT_MODEL_TIMEOUT_MS,
    maxRetries: env.AGENT_MAX_RETRIES,
    retryBaseMs: env.AGENT_RETRY_BASE_MS,
    retryMaxMs: env.AGENT_RETRY_MAX_MS,
    maxTokensPerTask: env.AGENT_MAX_TOKENS_PER_TASK,
    maxImages: env.CUA_MAX_IMAGES,
    ackSafetyChecks: env.AGENT_ACK_SAFETY_CHECKS,
    heartbeatMs: env.PROGRESS_HEARTBEAT_MS,
  }),
});
export type AgentSettings = SettingsOf<typeof AGENT_SETTINGS>;
