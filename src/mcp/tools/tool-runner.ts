import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY, type CallToolResult, type LoggingLevel, type ServerContext } from '@modelcontextprotocol/server';
import type { Identity } from '../../auth/auth.module';
import { linkSignals, sleep } from '../../common/async';
import { DomainError, DomainErrorCode, errorMessage, isDomainError } from '../../common/domain-error';
import { addLogField, withLogFields } from '../../common/log-context';
import { DrainState } from '../../lifecycle/lifecycle.module';
import { connectionDefaultSessionId, principalDefaultSessionId, Session, SessionService } from '../../session/session.module';
import {
  ATTR_CUA_MCP_ERA,
  ATTR_CUA_OUTCOME,
  ATTR_CUA_SESSION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_JSONRPC_REQUEST_ID,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_PROTOCOL_VERSION,
  ATTR_MCP_SESSION_ID,
  ATTR_NETWORK_TRANSPORT,
  ATTR_USER_ID,
  failSpan,
  SpanKind,
  Tracing,
  type Span,
} from '../../tracing/tracing.module';
import { codeOf, toToolError } from '../mcp-errors';
import { clientInfoOf, principalConnection, type ClientInfo, type McpEra, type ToolContext } from '../tool-context';
import { checkPermission } from '../tool-permissions';

/** What the SDK hands a tool handler besides its arguments: the request's id, `_meta`, signal, and its stream (notify, log). */
export type Extra = ServerContext;

const LEVELS: LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export interface CallScope {
  signal: AbortSignal;
  ctx: ToolContext;
  extra: Extra;
  /**
   * Sends an MCP log message on this request's stream, if the client's level lets it through: in the 2026 era
   * the request's `_meta` level (none: no messages), in the 2025 era the one logging/setLevel set.
   */
  log: (level: LoggingLevel, data: unknown) => void;
  /** The session the call addresses (created on first use). */
  session: (sessionId: string | undefined) => Promise<Session>;
}

/**
 * An isError result a tool returns rather than throws (e.g. every task of a call failed, and the result still
 * lists them), with the code the call is counted under.
 */
export class ToolFailure {
  constructor(
    readonly result: CallToolResult,
    readonly code: string,
  ) {}
}

/** A finished tool call: `outcome` is `ok`, or the code of its isError result (INTERNAL for an unexpected error). */
export interface ToolCallEvent {
  tool: string;
  outcome: string;
  durationMs: number;
  /** Who called, and when the call began (ms since the epoch). */
  principal: string;
  startedAt: number;
  /** How the caller proved who it is, and its permissions. */
  identity: Identity;
  /** The MCP client as it named itself, when it did. */
  client?: ClientInfo;
  /** The protocol era of the request. */
  era: McpEra;
  /** Whether it came over HTTP or stdio. */
  transport: 'http' | 'stdio';
  /** The session the call addressed, when it resolved one. */
  session?: Session;
  /** The MCP session (Mcp-Session-Id) the call came in, in the 2025 era over HTTP. */
  mcpSession?: string;
  /** The call's arguments as the client sent them (for records: redact before keeping). */
  args: Record<string, unknown>;
}

/**
 * A finished read of a resource holding a session's data (a recording, a trajectory): `outcome` is `ok`, the code of
 * the error it met (PERMISSION_DENIED …), or NOT_FOUND.
 */
export interface ResourceReadEvent {
  uri: string;
  outcome: string;
  durationMs: number;
  principal: string;
  startedAt: number;
  identity: Identity;
  era: McpEra;
  transport: 'http' | 'stdio';
  mcpSession?: string;
}

export interface ToolRunnerEvents {
  /** A tool call finished. */
  call: [ToolCallEvent];
  /** A read of a session's recording or trajectory finished. */
  read: [ResourceReadEvent];
}

interface InFlight {
  /** The connection the call came on (ToolContext.connectionId). */
  connection: string;
  /** Who called. */
  principal: string;
  /** connection + JSON-RPC request id, so a 2025-era `notifications/cancelled` (its own HTTP request) can abort the call. */
  key: string;
  controller: AbortController;
  done: Promise<unknown>;
}

/** The id a connection's id-less calls give their default session wherever they land: per principal (2026 era over HTTP), per MCP session (2025). */
function defaultIdOf(ctx: ToolContext): { defaultSessionId?: string } {
  if (ctx.connectionId === principalConnection(ctx.principal)) return { defaultSessionId: principalDefaultSessionId(ctx.principal) };
  if (ctx.mcpSession !== undefined) return { defaultSessionId: connectionDefaultSessionId(ctx.mcpSession) };
  return {};
}

const requestKey = (connectionId: string, requestId: string | number) => `${connectionId}\u0000${String(requestId)}`;

/**
 * Runs every tool call: refuses new calls while draining, tracks calls in flight so shutdown can
 * wait for them and then abort them, links the client's cancel signal, and turns every error
 * into a clear isError result (mcp-errors.ts). Each finished call is reported with its outcome:
 * `ok`, or the code of the error it threw or of the ToolFailure it returned. Each call is a span
 * (`tools/call <tool>`) under the trace context the request carried (`_meta`, else HTTP), in which
 * the call's work runs.
 */
@Injectable()
export class ToolRunner {
  private readonly logger = new Logger('Tools');
  private readonly inFlight = new Set<InFlight>();
  /** The SDK contexts of the calls run() has seen (the tools/call wrapper reports the others: answeredBeforeRun). */
  private readonly handled = new WeakSet<Extra>();
  readonly events = new EventEmitter<ToolRunnerEvents>();

  constructor(
    private readonly sessions: SessionService,
    private readonly drain: DrainState,
    private readonly tracing: Tracing,
  ) {}

  /**
   * `args`: the call's arguments, checked against the tool's permission (tool-permissions.ts) before `work` runs,
   * and reported with the finished call (the session's recording and the audit trail keep them, redacted).
   */
  async run(
    name: string,
    ctx: ToolContext,
    extra: Extra,
    work: (scope: CallScope) => Promise<CallToolResult | ToolFailure>,
    args: Record<string, unknown>,
  ): Promise<CallToolResult> {
    const started = Date.now();
    this.handled.add(extra);
    const span = this.callSpan(name, ctx, extra);
    const report = (outcome: string, session?: Session) => {
      this.endCallSpan(span, args, outcome, session);
      this.report(name, ctx, extra, args, started, outcome, session);
    };
    if (this.drain.draining) {
      report(DomainErrorCode.SHUTTING_DOWN);
      return toToolError(new DomainError(DomainErrorCode.SHUTTING_DOWN, 'The server is shutting down and takes no new calls.'));
    }
    const link = linkSignals(extra.mcpReq.signal);
    let addressed: Session | undefined;
    const scope: CallScope = {
      signal: link.signal,
      ctx,
      extra,
      log: (level, data) => {
        if (ctx.logLevel && LEVELS.indexOf(level) < LEVELS.indexOf(ctx.logLevel)) return;
        extra.mcpReq.log(level, data, name).catch(() => undefined);
      },
      session: async (sessionId) => {
        const session = await this.sessions.resolve(
          { principal: ctx.principal, sessionId, connectionId: ctx.connectionId, ...defaultIdOf(ctx) },
          link.signal,
        );
        addLogField('session', session.id);
        addressed ??= session;
        return session;
      },
    };
    const entry: InFlight = { connection: ctx.connectionId, principal: ctx.principal, key: requestKey(ctx.connectionId, extra.mcpReq.id), controller: link.controller, done: Promise.resolve() };
    let outcome = 'ok';
    const fields = { principal: ctx.principal, ...(ctx.mcpSession !== undefined && { mcp_session: ctx.mcpSession }), tool: name };
    const done = withLogFields(fields, () =>
      this.tracing.withSpan(span, async () => {
        try {
          // Before anything of the call happens (no session is looked up or opened): a refusal says nothing of others' things.
          checkPermission(name, args, ctx.identity);
          const reply = await work(scope);
          if (!(reply instanceof ToolFailure)) return reply;
          outcome = reply.code;
          return reply.result;
        } catch (e) {
          if (!isDomainError(e)) this.logger.error(`${name} failed: ${errorMessage(e)}`, (e as Error)?.stack);
          outcome = codeOf(e);
          return toToolError(e);
        }
      }),
    );
    entry.done = done;
    this.inFlight.add(entry);
    try {
      const result = await done;
      report(outcome, addressed);
      return result;
    } finally {
      this.inFlight.delete(entry);
      link.dispose();
    }
  }

  /**
   * A call of a known tool the SDK answered without its handler running (its arguments do not fit the tool's schema:
   * an isError result): reported as INVALID_ARGUMENT like any other call. Calls that went through run() are left out.
   */
  answeredBeforeRun(name: string, ctx: ToolContext, extra: Extra, args: unknown, startedAt: number): void {
    if (this.handled.has(extra)) return;
    const given = typeof args === 'object' && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
    this.endCallSpan(this.callSpan(name, ctx, extra, startedAt), given, DomainErrorCode.INVALID_ARGUMENT);
    this.report(name, ctx, extra, given, startedAt, DomainErrorCode.INVALID_ARGUMENT);
  }

  /**
   * A tool call's span (the MCP semantic conventions' server span): its tool, the JSON-RPC id, the era (and the protocol version
   * where the request names it), the MCP session, the caller's principal as the audit trail names it. Never its arguments.
   */
  private callSpan(name: string, ctx: ToolContext, extra: Extra, startTime?: number): Span {
    const version = (extra.mcpReq.envelope as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_META_KEY];
    return this.tracing.startSpan(`tools/call ${name}`, {
      kind: SpanKind.SERVER,
      ...this.tracing.parentOf(extra.mcpReq._meta),
      startTime,
      attributes: {
        [ATTR_MCP_METHOD_NAME]: 'tools/call',
        [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
        [ATTR_GEN_AI_TOOL_NAME]: name,
        // The client chooses its ids: a long one is cut, as a named session is.
        [ATTR_JSONRPC_REQUEST_ID]: String(extra.mcpReq.id).slice(0, 128),
        [ATTR_CUA_MCP_ERA]: ctx.era === 'modern' ? '2026' : '2025',
        ...(typeof version === 'string' && { [ATTR_MCP_PROTOCOL_VERSION]: version.slice(0, 32) }),
        ...(ctx.mcpSession !== undefined && { [ATTR_MCP_SESSION_ID]: ctx.mcpSession }),
        [ATTR_NETWORK_TRANSPORT]: ctx.identity.via === 'stdio' ? 'pipe' : 'tcp',
        [ATTR_USER_ID]: ctx.principal,
      },
    });
  }

  /** Ends a call's span with its outcome and the session it addressed (resolved, or named in `session_id`, as the audit trail has it). */
  private endCallSpan(span: Span, args: Record<string, unknown>, outcome: string, session?: Session): void {
    const named = args.session_id;
    const sessionId = session?.id ?? (typeof named === 'string' ? named.slice(0, 128) : undefined);
    span.setAttribute(ATTR_CUA_OUTCOME, outcome);
    if (sessionId !== undefined) span.setAttribute(ATTR_CUA_SESSION_ID, sessionId);
    // The conventions' word for an isError result; its code is the status and `cua.outcome`.
    if (outcome !== 'ok') failSpan(span, 'tool_error', outcome);
    span.end();
  }

  private report(name: string, ctx: ToolContext, extra: Extra, args: Record<string, unknown>, startedAt: number, outcome: string, session?: Session): void {
    this.events.emit('call', {
      tool: name,
      outcome,
      durationMs: Date.now() - startedAt,
      principal: ctx.principal,
      startedAt,
      identity: ctx.identity,
      client: clientInfoOf((extra.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_INFO_META_KEY]) ?? ctx.client ?? clientInfoOf(ctx.server.server.getClientVersion()),
      era: ctx.era,
      transport: ctx.identity.via === 'stdio' ? 'stdio' : 'http',
      session,
      mcpSession: ctx.mcpSession,
      args,
    });
  }

  /** Runs the read of a session-data resource and reports it, however it ends (the `read` event: the audit trail). */
  async reading<T>(ctx: ToolContext, uri: URL, work: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    let outcome = 'ok';
    try {
      return await work();
    } catch (e) {
      const message = e instanceof Error ? e.message : '';
      outcome = /^\[([A-Z_]+)\]/.exec(message)?.[1] ?? (/not found/i.test(message) ? 'NOT_FOUND' : DomainErrorCode.INTERNAL);
      throw e;
    } finally {
      this.events.emit('read', {
        uri: uri.href,
        outcome,
        durationMs: Date.now() - startedAt,
        principal: ctx.principal,
        startedAt,
        identity: ctx.identity,
        era: ctx.era,
        transport: ctx.identity.via === 'stdio' ? 'stdio' : 'http',
        mcpSession: ctx.mcpSession,
      });
    }
  }

  count(): number {
    return this.inFlight.size;
  }

  /** The connections with a call running now. */
  busyConnections(): Set<string> {
    return new Set([...this.inFlight].map((c) => c.connection));
  }

  /** Waits up to `ms` for calls in flight to finish; returns how many are still running. */
  async settle(ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.inFlight.size && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    return this.inFlight.size;
  }

  /**
   * Aborts the principal's calls of these JSON-RPC requests on this connection (their client cancelled them, or is
   * gone); returns how many it stopped (a call stopped already is not counted again).
   */
  abortRequests(connectionId: string, principal: string, requestIds: readonly (string | number)[], reason: Error): number {
    const keys = new Set(requestIds.map((id) => requestKey(connectionId, id)));
    let n = 0;
    for (const c of this.inFlight) {
      if (keys.has(c.key) && c.principal === principal && !c.controller.signal.aborted) {
        c.controller.abort(reason);
        n++;
      }
    }
    return n;
  }

  /** Aborts every call in flight with `reason`. */
  abortAll(reason: Error): number {
    for (const c of this.inFlight) c.controller.abort(reason);
    return this.inFlight.size;
  }
}
