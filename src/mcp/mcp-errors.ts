import { ProtocolError, ProtocolErrorCode, type CallToolResult } from '@modelcontextprotocol/server';
import type { ServerResponse } from 'node:http';
import { DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { TaskFailedError } from '../task/task.module';
import { imageBlock, text } from './tools/content';
import { summarize } from './tools/task-format';
import { trajectoryUri } from './trajectory.resources';

type Content = CallToolResult['content'];

/** A JSON-RPC error reply for failures before a request reaches an MCP server. */
export function rpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}) {
  if (res.headersSent) return;
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** The same, as a web-standard Response (the MCP endpoint's own refusals, answered where the SDK would answer). */
export function rpcErrorResponse(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
  });
}

/**
 * A 2025-era request the MCP-session layer could not serve because the registry is unreachable: 503 with
 * Retry-After and the error's code and message (the client may retry; nothing was changed). Anything else is
 * thrown on, to the SDK's generic 500.
 */
export function unavailableResponse(e: unknown): Response {
  if (!(e instanceof DomainError && e.code === DomainErrorCode.REGISTRY_UNAVAILABLE)) throw e;
  return rpcErrorResponse(503, -32000, errorText(e), { 'Retry-After': '2' });
}

/** What the client should do about each error code: the one place domain errors meet MCP. Empty when the message already says it. */
function advice(code: DomainErrorCode): string {
  switch (code) {
    case DomainErrorCode.INVALID_ARGUMENT:
      return 'Fix the arguments and call again.';
    case DomainErrorCode.SESSION_LIMIT:
    case DomainErrorCode.POOL_EXHAUSTED:
    case DomainErrorCode.POOL_QUEUE_FULL:
      // Their messages name the limit and each way out (cleanup_session, waiting, retrying later): said once is enough.
      return '';
    case DomainErrorCode.SESSION_NOT_FOUND:
      return 'Use create_session or omit session_id.';
    case DomainErrorCode.SESSION_ENDED:
      return 'Call again to start a new session (a named one once its cleanup has returned), or use create_session.';
    case DomainErrorCode.SESSION_LOST:
      // The message says what was lost and how to go on.
      return '';
    case DomainErrorCode.SESSION_UNDER_HUMAN_CONTROL:
      return (
        'The call was refused, not queued. Wait until control is handed back (the live view\'s button, or the release_control tool), ' +
        'then call again; screenshots (screenshot_cua, or computer with action screenshot) still work meanwhile.'
      );
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
    case DomainErrorCode.AGENT_GAVE_UP:
      return 'Read the model\'s reason: change the task, do that part yourself, or have a person help, then run it again.';
    case DomainErrorCode.SAFETY_CHECK:
      return 'Have a person review the task; the server acknowledges safety checks only with AGENT_ACK_SAFETY_CHECKS=true.';
    case DomainErrorCode.CANCELLED:
      return 'The call was cancelled; nothing more will happen.';
    case DomainErrorCode.TIMEOUT:
      return 'Retry with a longer timeout or a smaller request.';
    case DomainErrorCode.QUOTA_EXCEEDED:
      // The message names the quota, the figure, the limit and when to retry (or what frees a place).
      return '';
    case DomainErrorCode.PERMISSION_DENIED:
      // The message names the missing permission and how to get it for the way the caller signed in.
      return '';
    case DomainErrorCode.REGISTRY_UNAVAILABLE:
      // The message says to retry shortly; nothing else helps.
      return '';
    case DomainErrorCode.INTERNAL:
      return '';
  }
}

/** The code a failed call is counted under (metrics, logs): the error's own, INTERNAL for an unexpected one. */
export function codeOf(e: unknown): string {
  return e instanceof DomainError ? e.code : DomainErrorCode.INTERNAL;
}

export function errorText(e: unknown): string {
  return `[${codeOf(e)}] ${e instanceof DomainError ? e.message : errorMessage(e)}`;
}

/** A domain (or unexpected) error as an MCP tool result with isError, never a blank image or a crash. */
export function toToolError(e: unknown): CallToolResult {
  if (e instanceof TaskFailedError) return { isError: true, content: taskFailureContent(e, 'Task') };
  const hint = e instanceof DomainError ? advice(e.code) : '';
  return { isError: true, content: [text(errorText(e) + (hint ? ` ${hint}` : ''))] };
}

/**
 * A domain error met while serving a request that is not a tool call (reading a resource) as the JSON-RPC error the
 * client gets: its code and message in the text, as in tool results; -32600 (the request is not one this caller may make).
 */
export function toProtocolError(e: DomainError): ProtocolError {
  const hint = advice(e.code);
  return new ProtocolError(ProtocolErrorCode.InvalidRequest, errorText(e) + (hint ? ` ${hint}` : ''));
}

/** A failed task as content, with the steps it got done and the screen as it left it. `label`: "Task" or "Task 3". */
export function taskFailureContent(e: TaskFailedError, label: string): Content {
  switch (e.stage) {
    case 'not-started':
      return toToolError(e.reason).content;
    case 'no-computer':
      return [text(`${label} ${taskFailureSummary(e).error}`)];
    case 'ran': {
      let body = `${label} failed: ${errorText(e)}`;
      if (e.steps.length) body += `\nSteps done before it stopped:\n${summarize(e.steps)}`;
      if (e.usage && e.usage.inputTokens + e.usage.outputTokens > 0) body += `\nUsage: ${e.usage.inputTokens} input + ${e.usage.outputTokens} output tokens.`;
      if (e.trajectoryId) body += `\nTrajectory: ${trajectoryUri(e.sessionId, e.trajectoryId)}`;
      return e.screenshot ? [text(body), imageBlock(e.screenshot)] : [text(body)];
    }
  }
}

/** Why a task failed, in one line, and how far it got: for structured results. */
export function taskFailureSummary(e: TaskFailedError): { error: string; stepsDone: number } {
  const error = e.stage === 'no-computer' ? `could not get a computer: ${errorText(e)}` : errorText(e);
  return { error, stepsDone: e.steps.length };
}
