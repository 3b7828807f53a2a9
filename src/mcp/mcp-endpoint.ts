import { Injectable, Logger } from '@nestjs/common';
import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  LATEST_PROTOCOL_VERSION,
  legacyStatelessFallback,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type InitializeRequest,
  type LegacyHttpHandler,
  type LoggingLevel,
  type McpHandlerRequestOptions,
  type McpHttpHandler,
  type McpRequestContext,
  type McpServer,
} from '@modelcontextprotocol/server';
import { toNodeHandler, type NodeMcpRequestHandler } from '@modelcontextprotocol/node';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ANONYMOUS, identityOf } from '../auth/auth.module';
import type { JsonValue, McpSessionRecord } from '../cluster/cluster.module';
import { errorMessage } from '../common/domain-error';
import { withLogFields } from '../common/log-context';
import { DrainState } from '../lifecycle/lifecycle.module';
import { Tracing } from '../tracing/tracing.module';
import { McpCancellations } from './mcp-cancellations';
import { rpcErrorResponse, unavailableResponse } from './mcp-errors';
import { McpServerFactory } from './mcp-server.factory';
import { McpSessions } from './mcp-sessions';
import { authInfoOf, clientInfoOf, identityOfAuthInfo, principalConnection } from './tool-context';

const LOG_LEVELS: readonly string[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** Methods other than POST on a 2025-era MCP session: DELETE ends it; there is no server-to-client stream (GET). */
const ALLOWED = 'POST, DELETE';

/**
 * Streamable HTTP at /mcp, both protocol eras on one endpoint. Every request is served by a new McpServer from one
 * factory and nothing of it stays in this process once answered:
 *
 * - **2026-07-28** (the request carries the per-request `_meta` envelope): the SDK's handler
 *   (`createMcpHandler`, 2025 traffic rejected there), with `server/discover`. An id-less tool call uses the
 *   principal's default session.
 * - **2025-11-25 and before** (everything else, the SDK's `isLegacyRequest` decides): our MCP-session layer in
 *   front of the SDK's stateless 2025 leg (`legacyStatelessFallback`). `initialize` opens an MCP session: a record
 *   in the McpSessionRegistry under a minted `Mcp-Session-Id`; every later request must name it (400 without, 404
 *   when it is unknown, ended or another principal's) and is served from its record (principal, log level);
 *   DELETE ends it with its default session; GET answers 405 (no server-initiated messages exist here: progress
 *   and logs go on each request's own stream, and no stream pins a client to one process). A
 *   `notifications/cancelled` stops the named call on whichever replica runs it (McpCancellations). While the
 *   registry cannot be reached these requests get 503 with REGISTRY_UNAVAILABLE.
 *
 * Host/Origin, authentication and the body limit are the gate's (McpGateMiddleware), before this.
 */
@Injectable()
export class McpEndpoint {
  private readonly logger = new Logger('McpController');
  private readonly modern: McpHttpHandler;
  private readonly legacy: LegacyHttpHandler;
  private readonly node: NodeMcpRequestHandler;
  /** The MCP session each 2025-era request being served belongs to, for the factory the SDK calls with that request. */
  private readonly legacyRequests = new WeakMap<Request, McpSessionRecord>();
  /** The MCP session a request was served for, by the AuthInfo made for that request (what serve() and the layer share). */
  private readonly servedFor = new WeakMap<AuthInfo, string>();

  constructor(
    private readonly factory: McpServerFactory,
    private readonly sessions: McpSessions,
    private readonly cancellations: McpCancellations,
    private readonly drain: DrainState,
    private readonly tracing: Tracing,
  ) {
    const onerror = (e: Error) => this.logger.debug(`MCP request refused or failed: ${e.message}`);
    this.modern = createMcpHandler((c) => this.modernServer(c), { legacy: 'reject', onerror });
    this.legacy = legacyStatelessFallback((c) => this.legacyServer(c), onerror);
    this.node = toNodeHandler({ fetch: (request, options) => this.route(request, options) }, { onerror: (e) => this.logger.error(`MCP request failed: ${e.message}`) });
  }

  /** Serves one request to /mcp that passed the gate: its principal is known, a POST's body is parsed. */
  async serve(req: IncomingMessage, res: ServerResponse, principal: string, body: unknown): Promise<void> {
    // How the SDK hands the caller (principal, permissions) to the factory (ctx.authInfo) and to tool handlers (ctx.http.authInfo).
    const auth: AuthInfo = authInfoOf({ ...identityOf(req), principal });
    (req as IncomingMessage & { auth?: AuthInfo }).auth = auth;
    // The trace context of the HTTP request (`traceparent`), for the calls it carries that bring none in their `_meta`.
    const carried = this.tracing.extract(req.headers);
    await (carried ? this.tracing.withContext(carried, () => this.node(req, res, body)) : this.node(req, res, body));
    // A 2025-era request answered (however long it took) counts as use of its MCP session.
    const sid = this.servedFor.get(auth);
    if (sid !== undefined) await this.sessions.touch(sid).catch(() => undefined);
  }

  /** Stops the 2026-era requests still being answered (shutdown, after calls had their grace period). */
  async close(): Promise<void> {
    await this.modern.close();
  }

  private async route(request: Request, options: McpHandlerRequestOptions = {}): Promise<Response> {
    if (Array.isArray(options.parsedBody) && options.parsedBody.length === 0) return rpcErrorResponse(400, -32600, 'Invalid Request: an empty batch holds no message.');
    if (await isLegacyRequest(request, options.parsedBody)) return this.legacyLayer(request, options).catch(unavailableResponse);
    return this.modern.fetch(request, options);
  }

  /** A 2025-era request: the MCP session it opens, ends or belongs to, then the SDK's stateless leg. */
  private async legacyLayer(request: Request, options: McpHandlerRequestOptions): Promise<Response> {
    const principal = options.authInfo?.clientId ?? ANONYMOUS;
    const sid = request.headers.get('mcp-session-id') ?? undefined;
    if (request.method === 'GET') {
      return rpcErrorResponse(405, -32000, 'Method not allowed: this server sends nothing unasked, so there is no stream to open with GET. POST requests (their answers stream), DELETE to end the MCP session.', {
        Allow: ALLOWED,
      });
    }
    if (request.method === 'DELETE') {
      if (!sid) return rpcErrorResponse(400, -32000, 'Bad Request: the Mcp-Session-Id header is required.');
      if (!(await this.sessions.end(sid, principal))) return notFound(sid);
      return new Response(null, { status: 200 });
    }
    const body = options.parsedBody;
    const messages: unknown[] = Array.isArray(body) ? body : [body];
    const init = messages.find((m) => isInitializeRequest(m));
    if (init) return this.initialize(request, options, principal, sid, init);
    if (!sid) {
      return rpcErrorResponse(400, -32000, 'Bad Request: no Mcp-Session-Id header. Send an initialize request first, then send its Mcp-Session-Id with every request.');
    }
    const record = await this.sessions.use(sid, principal).catch((e: unknown) => {
      // The registry cannot say whether the MCP session exists: a cancellation still stops its calls running here.
      this.cancellations.cancelledHere(sid, principal, messages);
      throw e;
    });
    if (!record) return notFound(sid);
    if (options.authInfo) this.servedFor.set(options.authInfo, sid);
    await this.cancellations.cancelled(sid, principal, messages);
    this.legacyRequests.set(request, record);
    return withLogFields({ principal, mcp_session: sid }, () => this.legacy(request, options));
  }

  /** `initialize`: a new MCP session (within the caps), served by the SDK, its id added to the answer. */
  private async initialize(request: Request, options: McpHandlerRequestOptions, principal: string, sid: string | undefined, init: InitializeRequest): Promise<Response> {
    if (sid) return rpcErrorResponse(400, -32600, 'Invalid Request: initialize opens a new MCP session; send it without an Mcp-Session-Id header.');
    if (Array.isArray(options.parsedBody)) return rpcErrorResponse(400, -32600, 'Invalid Request: initialize must be sent alone, not in a batch.');
    if (this.drain.draining) return rpcErrorResponse(503, -32000, 'The server is shutting down; connect to another instance or retry shortly.');
    const opened = await this.sessions.open(principal, hello(init));
    if (!opened.admitted) {
      this.logger.warn(`initialize of ${principal} refused: ${opened.setting} reached`);
      return rpcErrorResponse(429, -32000, opened.message, { 'Retry-After': String(opened.retryAfterSeconds) });
    }
    const { record } = opened;
    this.legacyRequests.set(request, record);
    let answer: Response;
    try {
      answer = await withLogFields({ principal, mcp_session: record.id }, () => this.legacy(request, options));
    } catch (e) {
      await this.sessions.end(record.id, principal).catch(() => false);
      this.logger.error(`initialize failed: ${errorMessage(e)}`);
      return rpcErrorResponse(500, -32603, 'Internal error while starting the MCP session.');
    }
    if (!answer.ok) {
      // The SDK refused it (bad headers, say): no MCP session came of it.
      await this.sessions.end(record.id, principal).catch(() => false);
      return answer;
    }
    const client = typeof record.clientInfo.name === 'string' ? record.clientInfo.name.slice(0, 100) : 'unnamed client';
    this.logger.log(`MCP session ${record.id} opened by ${principal} (${record.protocolVersion}, ${client})`);
    const headers = new Headers(answer.headers);
    headers.set('Mcp-Session-Id', record.id);
    return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers });
  }

  /** The server for one 2026-era request: the caller's, with the principal's default session. */
  private modernServer(c: McpRequestContext): McpServer {
    const principal = c.authInfo?.clientId ?? ANONYMOUS;
    return this.factory.create({ principal, identity: identityOfAuthInfo(c.authInfo, principal), connectionId: principalConnection(principal), era: 'modern' });
  }

  /** The server for one 2025-era request, from its MCP session's record. */
  private legacyServer(c: McpRequestContext): McpServer {
    const record = c.requestInfo && this.legacyRequests.get(c.requestInfo);
    if (!record) throw new Error('A 2025-era request reached the SDK without its MCP session');
    return this.factory.create({
      principal: record.principal,
      identity: identityOfAuthInfo(c.authInfo, record.principal),
      client: clientInfoOf(record.clientInfo),
      connectionId: record.id,
      mcpSession: record.id,
      era: 'legacy',
      logLevel: LOG_LEVELS.includes(record.logLevel ?? '') ? (record.logLevel as LoggingLevel) : undefined,
      setLogLevel: (level) => this.sessions.setLogLevel(record.id, level),
    });
  }
}

function notFound(sid: string): Response {
  return rpcErrorResponse(404, -32001, `Session not found: no MCP session "${sid.slice(0, 64)}" (it ended or never existed). Initialize a new one.`);
}

/** What a client said of itself in `initialize`, and the version the SDK agrees on (the client's, when it serves it). */
function hello(init: InitializeRequest) {
  const asked = init.params.protocolVersion;
  return {
    protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : LATEST_PROTOCOL_VERSION,
    clientInfo: init.params.clientInfo as unknown as { [key: string]: JsonValue },
    clientCapabilities: init.params.capabilities as unknown as { [key: string]: JsonValue },
  };
}
