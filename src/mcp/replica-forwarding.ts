import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { PERMISSIONS, setPrincipal, type Identity } from '../auth/auth.module';
import {
  boundConnection,
  ClusterListener,
  ClusterProxy,
  relayAnswer,
  splitAddress,
  FORWARD_HEADERS,
  FORWARDED_PATH,
  InMemoryMcpSessionRegistry,
  McpSessionRegistry,
  parseOwner,
  ReplicaDirectory,
  type ReplicaEntry,
  SessionRegistry,
  ThisReplica,
  type ForwardedCall,
} from '../cluster/cluster.module';
import { CLUSTER_SETTINGS, type ClusterSettings } from '../cluster/cluster.settings';
import { errorMessage } from '../common/domain-error';
import { connectionDefaultSessionId, principalDefaultSessionId, SessionService } from '../session/session.module';
import { InjectSettings } from '../config/config.module';
import { rpcError } from './mcp-errors';
import { McpEndpoint } from './mcp-endpoint';

/** How long a live owner's directory entry is used without asking the directory again. */
const OWNER_CACHE_MS = 1_000;
/**
 * How long the replica a session's calls were forwarded to is kept as where the next calls go, without asking the
 * registry: that replica refuses (421) a call for a session it no longer holds, and the call is looked up afresh.
 */
const WHERE_HELD_MS = 10_000;
/** Most sessions whose place is kept; past it the oldest are forgotten. */
const WHERE_HELD_MAX = 10_000;
/** How long the owner may take to accept the connection of a forwarded call. */
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * The client's request headers that travel with a forwarded call (the MCP ones, and the W3C trace context so the owner's spans
 * join the client's trace; never Authorization or cookies). A trace context in the call's `_meta` travels in the body.
 */
const PASSED_HEADERS = ['content-type', 'accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-session-id', 'traceparent', 'tracestate'] as const;
/** Marks the answer to a call sent to a replica that does not hold its session (see FORWARD_HEADERS.misdirected). */
const MISDIRECTED = { [FORWARD_HEADERS.misdirected]: '1' };
/** URIs of the resources a session's replica keeps on its own disk. */
const SESSION_RESOURCE = /^(?:recording|trajectory):\/\/([^/?#]+)/;

/** The session a request addresses: `call` for a tool call; `mcpSession`, a 2025 id-less call's MCP session. */
interface Addressed {
  principal: string;
  sessionId: string;
  call: boolean;
  mcpSession?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Replicas serving each other's sessions (CLUSTER_PORT, with REDIS_URL). A session's computer lives in one replica
 * (an `xvfb` desktop is a process tree there), so a call that addresses it — a tool call naming it or using a 2025
 * MCP session's default session, a read of its recordings — is served by that replica. When such a call reaches
 * another replica, that replica sends the whole HTTP request, as the client sent it, to the owner's cluster port
 * and streams the owner's answer back; closing the client's stream closes the forwarded one (a 2026-era cancel).
 *
 * The owner's address comes only from the replica directory, where each replica registers its own; a call is
 * forwarded only to the live incarnation that the session's record names, signed with CLUSTER_SECRET, and a call
 * taken on the cluster port is served there, never forwarded again. Anything else is served where it arrives.
 */
@Injectable()
export class ReplicaForwarding implements OnModuleInit {
  private readonly logger = new Logger('McpController');
  /** Live owners' directory entries, by owner token, each for OWNER_CACHE_MS. */
  private readonly owners = new Map<string, { entry: ReplicaEntry; until: number }>();
  /** The replica holding each session that calls were forwarded to, by session key, each for WHERE_HELD_MS. */
  private readonly whereHeld = new Map<string, { entry: ReplicaEntry; until: number }>();

  constructor(
    private readonly listener: ClusterListener,
    private readonly registry: SessionRegistry,
    private readonly mcpSessions: McpSessionRegistry,
    private readonly directory: ReplicaDirectory,
    private readonly replica: ThisReplica,
    private readonly endpoint: McpEndpoint,
    private readonly sessions: SessionService,
    private readonly proxy: ClusterProxy,
    @InjectSettings(CLUSTER_SETTINGS) private readonly settings: ClusterSettings,
  ) {}

  onModuleInit(): void {
    if (this.listener.enabled) this.listener.serve((req, res, call) => this.serveForwarded(req, res, call));
  }

  /**
   * Forwards the request to the replica that holds the computer of the session it addresses, when that is another
   * live replica; true when it did (the answer is on its way), false when this replica serves it. A tool call for a
   * session this replica holds is served here without asking the registry where the session is, and the session's
   * use is noted in the registry at once, while the call makes its way in (SessionService.noteArrival).
   */
  async forwardIfElsewhere(req: IncomingMessage, res: ServerResponse, identity: Identity, body: unknown): Promise<boolean> {
    if (req.method !== 'POST') return false;
    const addressed = this.addressed(req, identity, body);
    if (!addressed || this.heldHere(addressed)) return false;
    // A 2025 request is served from its MCP session's record: another replica can serve it only when the records are shared.
    if (!this.settings.forwarding || (req.headers['mcp-session-id'] !== undefined && this.mcpSessions instanceof InMemoryMcpSessionRegistry)) return false;
    // A tool call for a session whose calls went to another replica a moment ago goes there again, unasked; should that
    // replica no longer hold it, it says so before doing anything, and the registry is asked.
    const key = `${addressed.principal}\u0000${addressed.sessionId}`;
    const known = addressed.call ? this.whereHeld.get(key) : undefined;
    if (known) {
      this.whereHeld.delete(key);
      if (known.until > Date.now() && (await this.forward(known.entry, req, res, identity, body, false)) === 'relayed') {
        this.remember(key, known.entry, known.until);
        return true;
      }
    }
    // Should the registry not answer, the call is served here, where it gets the error in its protocol's form.
    const owner = await this.ownerOf(addressed).catch((e: unknown) => {
      this.logger.debug(`Could not tell which replica holds the call's session: ${errorMessage(e)}`);
      return undefined;
    });
    if (!owner) return false;
    if (addressed.call) this.remember(key, owner, Date.now() + WHERE_HELD_MS);
    await this.forward(owner, req, res, identity, body, true);
    return true;
  }

  private remember(key: string, entry: ReplicaEntry, until: number): void {
    if (this.whereHeld.size >= WHERE_HELD_MAX) this.whereHeld.delete(this.whereHeld.keys().next().value!);
    this.whereHeld.set(key, { entry, until });
  }

  /**
   * The session a request addresses, as far as the request alone tells: a tool call naming it (or the operator's
   * principal's, for cleanup_session), a tool call without one (a 2026 principal's default session; a 2025 MCP
   * session's, checked against that MCP session's record before it is trusted), a read of its recordings.
   */
  private addressed(req: IncomingMessage, identity: Identity, body: unknown): Addressed | undefined {
    if (!isObject(body) || !isObject(body.params)) return undefined;
    const principal = identity.principal;
    if (body.method === 'tools/call') {
      const args = body.params.arguments;
      if (isObject(args) && typeof args.session_id === 'string') {
        // An operator naming another principal's session (cleanup_session): that principal's session decides where it
        // goes; the owner checks the operator's permission as any replica would.
        const named = typeof args.principal === 'string' && identity.permissions.has(PERMISSIONS.sessionsAdmin) ? args.principal : principal;
        return { principal: named, sessionId: args.session_id, call: true };
      }
      // A 2025 call without session_id uses its MCP session's default session; a 2026 one its principal's, whose id
      // is the same on every replica.
      const sid = req.headers['mcp-session-id'];
      if (typeof sid !== 'string') return { principal, sessionId: principalDefaultSessionId(principal), call: true };
      return { principal, sessionId: connectionDefaultSessionId(sid), call: true, mcpSession: sid };
    }
    if (body.method === 'resources/read' && typeof body.params.uri === 'string') {
      const sessionId = SESSION_RESOURCE.exec(body.params.uri)?.[1];
      if (sessionId !== undefined) return { principal, sessionId, call: false };
    }
    return undefined;
  }

  /** Whether this replica holds the addressed session; a tool call's arrival is noted as its use. */
  private heldHere(a: Addressed): boolean {
    return a.call ? this.sessions.noteArrival(a.principal, a.sessionId) : this.sessions.get(a.principal, a.sessionId) !== undefined;
  }

  /** The live replica, other than this one, holding the computer of the addressed session. */
  private async ownerOf(a: Addressed): Promise<ReplicaEntry | undefined> {
    if (a.mcpSession !== undefined) {
      const mcpSession = await this.mcpSessions.get(a.mcpSession);
      if (mcpSession?.principal !== a.principal) return undefined;
    }
    const record = await this.registry.get(a.principal, a.sessionId);
    if (!record?.owner || record.lost || record.owner === this.replica.owner) return undefined;
    const entry = await this.liveEntry(record.owner);
    // Gone, restarted, or taking no forwarded calls: served here, where the session answers why it cannot go on.
    return entry?.address ? entry : undefined;
  }

  /**
   * The directory's entry of the live incarnation an owner token names, remembered for OWNER_CACHE_MS: a forwarded
   * call then costs one Redis round trip (the session's record) rather than two. An owner that died within that
   * time is still tried: its connection fails at once and the client hears to retry.
   */
  private async liveEntry(owner: string): Promise<ReplicaEntry | undefined> {
    const now = Date.now();
    const known = this.owners.get(owner);
    if (known && known.until > now) return known.entry;
    const parsed = parseOwner(owner);
    const found = parsed && (await this.directory.get(parsed.id));
    const entry = found && found.epoch === parsed.epoch ? found : undefined;
    if (this.owners.size >= 1_000) this.owners.clear();
    if (entry) this.owners.set(owner, { entry, until: now + OWNER_CACHE_MS });
    return entry;
  }

  /**
   * Sends the call to the owner and relays its answer. `checked`: the owner was read from the registry just now. Else
   * it came from whereHeld: should the owner answer that the call is misdirected, or its connection fail before the
   * call could reach it, nothing is answered here and the caller asks the registry. Any other call whose owner cannot
   * be reached is answered here (503, retry): it may have reached the owner, and is not sent twice.
   */
  private async forward(owner: ReplicaEntry, req: IncomingMessage, res: ServerResponse, identity: Identity, body: unknown, checked: boolean): Promise<'relayed' | 'misdirected' | 'unreachable'> {
    const payload = Buffer.from(JSON.stringify(body));
    const target = `${owner.id}@${owner.epoch}`;
    const headers = this.proxy.signedCall(owner, FORWARDED_PATH, identity, payload);
    if (checked) headers[FORWARD_HEADERS.ownerChecked] = 'registry';
    for (const name of PASSED_HEADERS) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const [host, port] = splitAddress(owner.address!);
    return new Promise((resolve) => {
      let answered = false;
      const closed = () => {
        if (!res.writableFinished) upstream.destroy();
        resolve('relayed');
      };
      const upstream = httpRequest({ host, port, method: 'POST', path: FORWARDED_PATH, headers }, (answer) => {
        answered = true;
        if (answer.headers[FORWARD_HEADERS.misdirected] !== undefined) {
          answer.resume();
          res.off('close', closed);
          return resolve('misdirected');
        }
        void relayAnswer(answer, res).then(() => resolve('relayed'));
      });
      // Only the connection is bounded: the owner may take as long as the call does before it answers (a 2026-era
      // call without progress gets its headers with its result).
      boundConnection(upstream, CONNECT_TIMEOUT_MS);
      // The client went away (a 2026-era cancel closes its stream): so does the forwarded call, and the owner stops it.
      res.on('close', closed);
      // Whether the call may have reached the owner: only one that surely did not is sent again (after the registry is asked).
      let maybeSent = false;
      upstream.on('socket', (socket) => {
        if (upstream.reusedSocket || !socket.connecting) maybeSent = true;
        else socket.once('connect', () => (maybeSent = true));
      });
      upstream.on('error', (e) => {
        if (!answered) {
          res.off('close', closed);
          if (!checked && !maybeSent) return resolve('unreachable');
          this.logger.warn(`Could not forward a call to replica ${target} at ${owner.address}: ${errorMessage(e)}`);
          rpcError(res, 503, -32000, `The server replica ${owner.id} that holds this session's computer did not answer (${errorMessage(e)}). Retry shortly.`, { 'Retry-After': '1' });
          return resolve('unreachable');
        }
        res.destroy();
        resolve('relayed');
      });
      upstream.end(payload);
    });
  }

  /** A call another replica forwarded here (its signature already checked by the ClusterListener). */
  private async serveForwarded(req: IncomingMessage, res: ServerResponse, call: ForwardedCall): Promise<void> {
    const checked = req.headers[FORWARD_HEADERS.ownerChecked] === 'registry';
    if (call.target !== this.replica.owner) {
      // Meant for an earlier incarnation of this replica (it restarted since): its sessions went with it.
      return rpcError(res, 409, -32000, `This call was meant for replica ${call.target}, which is no longer running here (${this.replica.owner} is). Retry.`, checked ? {} : MISDIRECTED);
    }
    const addressed = this.addressed(req, call.identity, call.body);
    if (addressed && !this.heldHere(addressed) && !checked && addressed.call) {
      // Sent where the session's calls went before, and it is no longer here: the forwarding replica asks the registry.
      return rpcError(res, 421, -32000, 'This replica does not hold that session; ask the session registry where it is.', MISDIRECTED);
    }
    setPrincipal(req, call.identity);
    this.logger.debug(`Serving a call forwarded by ${call.from.slice(0, 80)} for ${call.identity.principal}`);
    await this.endpoint.serve(req, res, call.identity.principal, call.body);
  }
}
