import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { type IncomingMessage, Server } from 'node:http';
import type { WebSocket } from 'ws';
import { DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { HostOriginPolicy, isLoopbackHost } from '../http/http.module';
import { HTTP_SETTINGS, type HttpSettings } from '../http/http.settings';
import { Session, SessionService } from '../session/session.module';
import { ClusterProxy } from '../cluster/cluster.module';
import { AppViews } from './app-views';
import { type LiveViewAppCsp, type LiveViewAppTicket, liveViewAppCsp, liveViewAppHtml, liveViewWebSocket } from './liveview-app';
import { LIVE_VIEW_SETTINGS, type LiveViewSettings } from './liveview.settings';
import { bridgeRfb, type RfbBridge } from './rfb/rfb-bridge';
import { RfbClientFilter } from './rfb/rfb-client-filter';
import { ViewGrant, ViewGrants } from './view-grants';

/** The key a live view's replica pins its id under (ReplicaDirectory.pin), for the others to forward its requests. */
export const viewKey = (viewId: string) => `view:${viewId}`;

/** The cookie that holds a browser's grant for one session's page. */
export const VIEW_COOKIE = 'cua_view';
/** How long a new viewer may take to reach the desktop's VNC server. */
const VNC_CONNECT_TIMEOUT_MS = 10_000;
const SWEEP_EVERY_MS = 60_000;

/** A link to a session's live view. */
export interface LiveViewLink {
  url: string;
  expiresAt: number;
}

/** What the page shows about its session. */
export interface LiveViewState {
  session_id: string;
  /** Who drives the desktop: the agent (and tool calls), this viewer, or another person. */
  control: 'agent' | 'you' | 'someone-else';
  running_tasks: number;
  ended: boolean;
}

interface Viewer {
  grant: ViewGrant;
  bridge: RfbBridge;
}

/**
 * Live views of sessions' desktops: links (`live_view`), the grants they turn into, the viewers
 * connected through the RFB bridge, and who holds control. A viewer's input reaches the desktop
 * only while its grant holds the session's control; ending the session closes every viewer.
 */
@Injectable()
export class LiveViewService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('LiveView');
  readonly grants: ViewGrants;
  /** Views inside an MCP Apps host, which open with a token rather than a cookie. */
  readonly appViews: AppViews;
  private readonly viewers = new Map<Session, Set<Viewer>>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    @InjectSettings(LIVE_VIEW_SETTINGS) private readonly settings: LiveViewSettings,
    @InjectSettings(HTTP_SETTINGS) private readonly http: HttpSettings,
    private readonly sessions: SessionService,
    private readonly hostOrigin: HostOriginPolicy,
    private readonly adapterHost: HttpAdapterHost,
    private readonly proxy: ClusterProxy,
  ) {
    this.grants = new ViewGrants(settings.tokenTtlMs, settings.grantTtlMs);
    this.appViews = new AppViews(this.grants);
  }

  onModuleInit() {
    this.sessions.events.on('ended', (session) => this.sessionEnded(session));
    this.sweeper = setInterval(() => {
      this.grants.sweep();
      this.appViews.sweep();
    }, SWEEP_EVERY_MS).unref();
  }

  onModuleDestroy() {
    clearInterval(this.sweeper);
    for (const set of this.viewers.values()) for (const v of set) v.bridge.close('The server is shutting down.');
    this.viewers.clear();
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** A link to this session's live view, for its principal; `control`: the page takes control when it opens. */
  async link(session: Session, control: boolean): Promise<LiveViewLink> {
    if (!this.settings.enabled) throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'Live view is switched off on this server (LIVE_VIEW=false).');
    const computer = this.sessions.computerOf(session);
    if (!computer.supports('openVnc')) {
      throw new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `Computers of the ${computer.provider} provider offer no live view.`);
    }
    // Start the desktop's VNC server now (it lingers a minute): the person opens the link within
    // seconds, and the first frame then need not wait for it.
    computer.openVnc(AbortSignal.timeout(VNC_CONNECT_TIMEOUT_MS)).then(
      (s) => s.destroy(),
      (e: unknown) => this.logger.debug(`Could not start the VNC server of session ${session.id} ahead: ${errorMessage(e)}`),
    );
    const { token, viewId, expiresAt } = this.grants.issue(session.principal, session, control);
    await this.pin(viewId);
    return { url: `${this.baseUrl()}/live/${viewId}/?token=${token}`, expiresAt };
  }

  /**
   * What the MCP App of a `live_view` result needs: a token of its own (the link's token stays the person's),
   * spent by the app's WebSocket. Call after link(), which checks that the session can be watched.
   */
  async appTicket(session: Session): Promise<LiveViewAppTicket> {
    const { token, viewId, expiresAt } = this.grants.issue(session.principal, session, false);
    await this.pin(viewId);
    return { token, websocket: liveViewWebSocket(this.baseUrl(), viewId), expires_at: new Date(expiresAt).toISOString() };
  }

  /**
   * The grant of the MCP App view that opened its WebSocket with `token`, for a call of `principal`
   * (live_view_control, over that principal's MCP connection).
   */
  appView(principal: string, token: string): ViewGrant {
    const grant = this.appViews.find(principal, token);
    if (!grant) {
      throw new DomainError(
        DomainErrorCode.INVALID_ARGUMENT,
        'No live view goes by that token: it has not connected yet, its session ended, or it expired. Call live_view for a new one.',
      );
    }
    return grant;
  }

  /**
   * With replicas forwarding to each other: notes in the directory that this replica serves the view, for as long as
   * a grant from this link can last, so a browser's request for it that reaches another replica is sent here.
   */
  private async pin(viewId: string): Promise<void> {
    await this.proxy.pin(viewKey(viewId), this.settings.tokenTtlMs + this.settings.grantTtlMs);
  }

  /** The MCP App's HTML, which loads its script from this server. */
  appHtml(): string {
    return liveViewAppHtml(this.baseUrl());
  }

  /** The origins the MCP App's page reaches, as its resource declares them. */
  appCsp(): LiveViewAppCsp {
    return liveViewAppCsp(this.baseUrl());
  }

  /** The address browsers reach this server at: PUBLIC_URL, or http:// and where the server listens. */
  baseUrl(): string {
    if (this.settings.publicUrl) return this.settings.publicUrl;
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    const address = server instanceof Server ? (server.address() as AddressInfo | null) : null;
    const port = address?.port ?? this.http.port;
    const host = this.http.host;
    const shown = host === '0.0.0.0' || host === '::' || isLoopbackHost(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${port}`;
  }

  /**
   * Why a request for the live view (its page, its WebSocket, its buttons) is refused, or
   * undefined: its Host must be one this server answers to, and its Origin, when it has one (or
   * must: a WebSocket or a POST from a browser always has one), this server's own (PUBLIC_URL's,
   * or that of the host the request was sent to).
   */
  pageRequestRefusal(req: IncomingMessage, originRequired: boolean): string | undefined {
    const refused = this.hostOrigin.hostRefusal(req);
    if (refused) return refused;
    const origin = req.headers.origin;
    if (!origin) return originRequired ? "Forbidden: no Origin header (only the live view's own page may do this)." : undefined;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return 'Forbidden: the Origin header is not a URL.';
    }
    const ok = this.settings.publicUrl ? url.origin === new URL(this.settings.publicUrl).origin : (url.protocol === 'http:' || url.protocol === 'https:') && url.host === req.headers.host;
    return ok ? undefined : `Forbidden: Origin "${origin.slice(0, 256)}" is not this server's own.`;
  }

  state(grant: ViewGrant): LiveViewState {
    const s = grant.session;
    const heldBy = s.control.heldBy;
    return {
      session_id: s.id,
      control: heldBy === undefined ? 'agent' : heldBy === grant.holder ? 'you' : 'someone-else',
      running_tasks: s.tasks.size,
      ended: s.ended,
    };
  }

  /** The page's "Take control": this viewer's input reaches the desktop until it hands control back or goes idle. */
  takeControl(grant: ViewGrant): LiveViewState {
    grant.session.control.take(grant.holder);
    return this.state(grant);
  }

  /** The page's "Hand back": the agent and tool calls drive the desktop again. */
  releaseControl(grant: ViewGrant): LiveViewState {
    grant.session.control.release(grant.holder);
    return this.state(grant);
  }

  /** Connects a viewer's WebSocket to the session's desktop. */
  async attach(grant: ViewGrant, ws: WebSocket): Promise<void> {
    const { session, holder } = grant;
    let vnc;
    try {
      const computer = this.sessions.computerOf(session);
      vnc = await computer.openVnc(AbortSignal.timeout(VNC_CONNECT_TIMEOUT_MS));
    } catch (e) {
      this.logger.warn(`Live view of session ${session.id} could not reach its desktop: ${errorMessage(e)}`);
      ws.close(1011, 'The desktop cannot be reached; reload the page to try again.');
      return;
    }
    const control = session.control;
    // Asked once per input message as it completes: a person's input passes only while their
    // browser holds control, and each one keeps control from returning to the agent as idle.
    const filter = new RfbClientFilter({
      inputAllowed: () => {
        if (control.heldBy !== holder) return false;
        control.noteInput();
        return true;
      },
    });
    const bridge = bridgeRfb(ws, vnc, filter);
    const viewer: Viewer = { grant, bridge };
    let set = this.viewers.get(session);
    if (!set) this.viewers.set(session, (set = new Set()));
    set.add(viewer);
    this.logger.log(`${holder} watches session ${session.id} (${set.size} viewer(s))`);
    void bridge.closed.then(({ code, reason }) => this.logger.log(`${holder} left session ${session.id}: ${code} ${reason}`.trim()));
    void bridge.closed.finally(() => {
      set.delete(viewer);
      if (!set.size && this.viewers.get(session) === set) this.viewers.delete(session);
      // A person who leaves (their last page of this session closed) hands control back.
      if (![...set].some((v) => v.grant.holder === holder)) control.release(holder);
    });
  }

  /** How many viewers are connected to a session (all sessions without one). */
  viewerCount(session?: Session): number {
    if (session) return this.viewers.get(session)?.size ?? 0;
    let n = 0;
    for (const set of this.viewers.values()) n += set.size;
    return n;
  }

  private sessionEnded(session: Session) {
    this.grants.forget(session);
    this.appViews.forget(session);
    const set = this.viewers.get(session);
    if (!set) return;
    this.viewers.delete(session);
    for (const v of set) v.bridge.close('The session ended.');
  }
}
