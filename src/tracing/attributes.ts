/**
 * The names of the attributes our spans carry. Stable OpenTelemetry names come from `@opentelemetry/semantic-conventions`;
 * the ones still in development there (MCP, GenAI, `user.id`) are written out here, as that package advises for its
 * incubating names (they may change in a minor release). `cua.*` are this server's own.
 *
 * Never an attribute: screenshots, typed text, key names, tool arguments, task texts, error messages, tokens or keys.
 */
export { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_NETWORK_TRANSPORT, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

// MCP (semantic conventions for the Model Context Protocol, development).
export const ATTR_MCP_METHOD_NAME = 'mcp.method.name';
export const ATTR_MCP_PROTOCOL_VERSION = 'mcp.protocol.version';
export const ATTR_MCP_SESSION_ID = 'mcp.session.id';
export const ATTR_JSONRPC_REQUEST_ID = 'jsonrpc.request.id';

// GenAI (development).
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';

/** The caller's principal, as the audit trail and the logs name it (development). */
export const ATTR_USER_ID = 'user.id';

// This server's own.
/** The protocol era of a tool call: `2025` (initialize, MCP sessions) or `2026` (2026-07-28), as the audit trail writes it. */
export const ATTR_CUA_MCP_ERA = 'cua.mcp.era';
/** `ok`, or the error code of the tool call's isError result (SESSION_LIMIT, PERMISSION_DENIED …). */
export const ATTR_CUA_OUTCOME = 'cua.outcome';
/** The session a call addressed. */
export const ATTR_CUA_SESSION_ID = 'cua.session.id';
/** An agent step's number (1, 2, …) and how many actions its model turn asked for. */
export const ATTR_CUA_AGENT_STEP = 'cua.agent.step';
export const ATTR_CUA_AGENT_ACTIONS = 'cua.agent.actions';
/** How many steps a task took. */
export const ATTR_CUA_AGENT_STEPS = 'cua.agent.steps';
/** How many times a model call was retried after a retryable failure; each retry is an event `retry` with how long it waited. */
export const ATTR_CUA_MODEL_RETRIES = 'cua.model.retries';
export const ATTR_CUA_RETRY_WAIT_MS = 'cua.retry.wait_ms';
/** A computer action's kind (left_click, type, key …: never its text) and the provider of the computer it ran on. */
export const ATTR_CUA_COMPUTER_ACTION = 'cua.computer.action';
export const ATTR_CUA_COMPUTER_PROVIDER = 'cua.computer.provider';
export const ATTR_CUA_COMPUTER_ID = 'cua.computer.id';

/** A model's token counts as GenAI attributes (none when the model did not report them). */
export function usageAttributes(usage: { inputTokens: number; outputTokens: number } | undefined): Record<string, number> {
  return usage ? { [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: usage.inputTokens, [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage.outputTokens } : {};
}

/** The `gen_ai.provider.name` of our model providers, where the conventions name one. */
export function genAiProvider(provider: string): string {
  return provider === 'gemini' ? 'gcp.gemini' : provider;
}
