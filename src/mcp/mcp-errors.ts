import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ServerResponse } from 'node:http';
import { DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';

/** A JSON-RPC error reply for failures before a request reaches an MCP server. */
export function rpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}) {
  if (res.headersSent) return;
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** What the client should do about each error code: the one place domain errors meet MCP. */
function advice(code: DomainErrorCode): string {
  switch (code) {
    case DomainErrorCode.INVALID_ARGUMENT:
      return 'Fix the arguments and call again.';
    case DomainErrorCode.SESSION_LIMIT:
    case DomainErrorCode.POOL_EXHAUSTED:
    case DomainErrorCode.POOL_QUEUE_FULL:
      return 'Retry later or free a session with cleanup_session.';
    case DomainErrorCode.SESSION_NOT_FOUND:
      return 'Use create_session or omit session_id.';
    case DomainErrorCode.SESSION_ENDED:
      return 'Call again to start a new session (a named one once its cleanup has returned), or use create_session.';
    case DomainErrorCode.SHUTTING_DOWN:
      return 'Reconnect and retry.';
    case DomainErrorCode.COMPUTER_FAILED:
      return 'The next call gets a fresh computer; retry.';
    case DomainErrorCode.COMPUTER_UNSUPPORTED:
      return 'This computer provider does not offer that action.';
    case DomainErrorCode.COMPUTER_BUSY:
      return 'Wait for a running command to finish, or start long-running programs with background: true.';
    case DomainErrorCode.MODEL_ERROR:
      return 'Check the model settings (CUA_MODEL_NAME, keys) or retry.';
    case DomainErrorCode.AGENT_STEP_LIMIT:
    case DomainErrorCode.AGENT_TOKEN_LIMIT:
      return 'Split the task into smaller ones.';
    case DomainErrorCode.SAFETY_CHECK:
      return 'Have a person review the task; the server acknowledges safety checks only with AGENT_ACK_SAFETY_CHECKS=true.';
    case DomainErrorCode.CANCELLED:
      return 'The call was cancelled; nothing more will happen.';
    case DomainErrorCode.TIMEOUT:
      return 'Retry with a longer timeout or a smaller request.';
  }
}

export function errorText(e: unknown): string {
  if (e instanceof DomainError) return `[${e.code}] ${e.message}`;
  return `[INTERNAL] ${errorMessage(e)}`;
}

/** A domain (or unexpected) error as an MCP tool result with isError, never a blank image or a crash. */
export function toToolError(e: unknown, extra: CallToolResult['content'] = []): CallToolResult {
  const code = e instanceof DomainError ? e.code : undefined;
  return {
    isError: true,
    content: [{ type: 'text', text: errorText(e) + (code ? ` ${advice(code)}` : '') }, ...extra],
  };
}
