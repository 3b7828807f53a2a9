import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { ANONYMOUS, type Identity } from '../auth/auth.module';
import { ClusterListener, ClusterProxy, ThisReplica, type ForwardedCall, type ReplicaEntry } from '../cluster/cluster.module';
import { DomainError, DomainErrorCode, errorMessage, isDomainError } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { Session, SessionService } from '../session/session.module';
import { TaskService, type TaskStepDoneEvent } from '../task/task.module';
import { type ActionEntry, Ring } from './action-ring';
import { LiveViewService, type LiveViewLink } from './liveview.service';
import { LIVE_VIEW_SETTINGS, type LiveViewSettings } from './liveview.settings';
import { Thumbnails } from './thumbnails';
import type { DashboardGrant } from './view-grants';

/** How long a dashboard waits for another replica's part of its page (its sessions there, a thumbnail, a link). */
const PEER_TIMEOUT_MS = 3_000;
/** Most dashboards whose sessions on other replicas are remembered (for their thumbnails and links); the oldest go first. */
const REMOTE_VIEWS_MAX = 1_000;

/** What one replica asks another for a dashboard, about the asking principal's sessions held there. */
type PeerQuery = { op: 'sessions' } | { op: 'thumb'; view_id: string } | { op: 'open'; view_id: string };

/** How many of a session's last actions the dashboard keeps and shows. */
export const ACTIONS_KEPT = 10;
/** An action's text is cut at this length. */
const ACTION_TEXT_MAX = 120;

/** One session as the dashboard shows it. */
export interface DashboardSession {
  /** Names the session in the dashboard's URLs (thumbnails, opening its live view); its live view's path id. */
  view_id: string;
  session_id: string;
  kind: string;
  created_at: string;
  last_activity: string;
  computer: string | null;
  /** Who holds control of the desktop in the live view; null while the agent and the tools may act. */
  controlled_by: string | null;
  /** Whether the session's desktop offers a live view (its provider's computers do). */
  live_view: boolean;
  /** Browsers watching its live view now. */
  viewers: number;
  tasks: { name: string; started_at: string }[];
  /** The last few actions, newest first. */
  actions: { at: string; by: ActionEntry['by']; action: string; outcome: string; duration_ms?: number }[];
}

export interface DashboardState {
  principal: string;
  sessions: DashboardSession[];
}

/** A finished tool call on a session, as the MCP layer reports it. */
export interface ToolCallNote {
  tool: string;
  outcome: string;
  durationMs: number;
}

const clip = (s: string) => (s.length > ACTION_TEXT_MAX ? `${s.slice(0, ACTION_TEXT_MAX - 1)}…` : s);

/**
 * The sessions dashboard: a page per principal (`dashboard` gives a one-time link to it) that lists
 * that principal's sessions with thumbnails, running tasks and last actions, and opens a session's
 * live view in one click. It keeps the last ACTIONS_KEPT actions of each session in memory: tool
 * calls (fed by the MCP layer) and the steps of the session's agent. Everything it serves is
 * looked up through the grant's principal, so a dashboard sees that principal's sessions alone.
 */
@Injectable()
export class DashboardService implements OnModuleInit {
  private readonly logger = new Logger('Dashboard');
  private readonly actions = new WeakMap<Session, Ring<ActionEntry>>();
  /** Per dashboard grant: the replica holding each of its principal's sessions held elsewhere, by view id (from its last list). */
  private readonly remoteViews = new Map<string, Map<string, ReplicaEntry>>();

  constructor(
    @InjectSettings(LIVE_VIEW_SETTINGS) private readonly settings: LiveViewSettings,
    private readonly sessions: SessionService,
    private readonly tasks: TaskService,
    private readonly liveView: LiveViewService,
    private readonly thumbnails: Thumbnails,
    private readonly proxy: ClusterProxy,
    private readonly listener: ClusterListener,
    private readonly replica: ThisReplica,
  ) {}

  onModuleInit() {
    this.tasks.events.on('step', (event) => this.noteStep(event));
    if (this.listener.enabled) this.listener.servePeer((_req, res, call) => this.answerPeer(res, call));
  }

  /**
   * A one-time link to the principal's dashboard; `recordings`: whether its page may list and download the
   * principal's recordings. With replicas forwarding to each other, the dashboard's id is pinned to this replica,
   * which holds its grants: its page works through any replica, and lists the principal's sessions on all of them.
   */
  async link(principal: string, options: { recordings: boolean }): Promise<LiveViewLink> {
    if (!this.settings.enabled) throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'The dashboard is switched off on this server (LIVE_VIEW=false).');
    const { token, dashboardId, expiresAt } = this.liveView.grants.issueDashboard(principal, Date.now(), options);
    await this.proxy.pin(dashboardKey(dashboardId), this.settings.tokenTtlMs + this.settings.grantTtlMs);
    return { url: `${this.liveView.baseUrl()}/live/dashboard/${dashboardId}/?token=${token}`, expiresAt };
  }

  /** A tool call that addressed a session finished. */
  noteToolCall(session: Session, call: ToolCallNote, now = Date.now()): void {
    this.ring(session).push({ at: now, by: 'tool', action: call.tool, outcome: call.outcome, durationMs: call.durationMs });
  }

  /** A step of one of the session's tasks finished: which actions it took, and how they went (their text may hold what was typed: not kept). */
  noteStep({ session, task, step, durationMs }: TaskStepDoneEvent, now = Date.now()): void {
    const names = step.actions.map((a) => a.action).join(', ') || 'no action';
    const failed = step.outcomes.filter((o) => o.status === 'error').length;
    const skipped = step.outcomes.filter((o) => o.status === 'skipped').length;
    const outcome = failed ? `${failed} failed` : skipped ? `${skipped} not run` : 'ok';
    const which = task ? `task ${task + 1}, step ${step.step}` : `step ${step.step}`;
    this.ring(session).push({ at: now, by: 'agent', action: clip(`${which}: ${names}`), outcome, durationMs });
  }

  /**
   * What the dashboard shows: the grant's principal's sessions, oldest first: those of this replica, and those the
   * other replicas hold, as each describes them (a replica that does not answer in time leaves its sessions out of
   * this list, not the page).
   */
  async state(grant: DashboardGrant): Promise<DashboardState> {
    const here = this.localSessions(grant.principal);
    const elsewhere = this.proxy.enabled ? await this.sessions.heldElsewhere(grant.principal).catch(() => []) : [];
    if (!elsewhere.length) {
      this.remoteViews.delete(grant.id);
      return { principal: grant.principal, sessions: here };
    }
    const views = new Map<string, ReplicaEntry>();
    const parts = await Promise.all(
      elsewhere.map(async (owner) => {
        const entry = await this.proxy.liveEntry(owner).catch(() => undefined);
        if (!entry) return [];
        const listed = await this.askPeer<DashboardSession[]>(entry, grant.principal, { op: 'sessions' });
        const list = Array.isArray(listed) ? listed : [];
        for (const s of list) views.set(s.view_id, entry);
        return list;
      }),
    );
    this.remoteViews.delete(grant.id);
    if (this.remoteViews.size >= REMOTE_VIEWS_MAX) this.remoteViews.delete(this.remoteViews.keys().next().value!);
    this.remoteViews.set(grant.id, views);
    const sessions = [...here, ...parts.flat()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    return { principal: grant.principal, sessions };
  }

  /** The replica holding the grant's principal's session with this view id, when another one does (from the last list). */
  heldElsewhere(grant: DashboardGrant, viewId: string): ReplicaEntry | undefined {
    return this.remoteViews.get(grant.id)?.get(viewId);
  }

  /** A session's thumbnail from the replica that holds it: JPEG, or undefined when it has none now (or did not answer). */
  async remoteThumbnail(grant: DashboardGrant, owner: ReplicaEntry, viewId: string): Promise<Buffer | undefined> {
    const answer = await this.proxy.ask(owner, identityOf(grant.principal), { op: 'thumb', view_id: viewId }, PEER_TIMEOUT_MS).catch(() => undefined);
    return answer?.status === 200 && answer.type === 'image/jpeg' ? answer.body : undefined;
  }

  /** A live-view link for a session another replica holds, made there (where its live view is served). */
  async remoteLiveView(grant: DashboardGrant, owner: ReplicaEntry, viewId: string): Promise<LiveViewLink> {
    const answer = await this.proxy.ask(owner, identityOf(grant.principal), { op: 'open', view_id: viewId }, PEER_TIMEOUT_MS).catch((e: unknown) => {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `The server replica ${owner.id} that holds this session did not answer (${errorMessage(e)}). Retry shortly.`);
    });
    const json = parseJson(answer.body) as { url?: unknown; expires_at?: unknown; error?: unknown; code?: unknown } | undefined;
    if (answer.status === 200 && typeof json?.url === 'string' && typeof json.expires_at === 'number') return { url: json.url, expiresAt: json.expires_at };
    const code = typeof json?.code === 'string' && json.code in DomainErrorCode ? (json.code as DomainErrorCode) : DomainErrorCode.COMPUTER_FAILED;
    throw new DomainError(code, typeof json?.error === 'string' ? json.error : `The server replica ${owner.id} could not open this session's live view.`);
  }

  /** This replica's sessions of the principal, as the dashboard shows them. */
  private localSessions(principal: string): DashboardSession[] {
    return this.sessions.list(principal).map((s) => this.describe(s));
  }

  /** Asks another replica about the principal's sessions there; undefined when it does not answer in time, or not with JSON. */
  private async askPeer<T>(owner: ReplicaEntry, principal: string, query: PeerQuery): Promise<T | undefined> {
    try {
      const answer = await this.proxy.ask(owner, identityOf(principal), query, PEER_TIMEOUT_MS);
      return answer.status === 200 ? (parseJson(answer.body) as T) : undefined;
    } catch (e) {
      this.logger.debug(`Replica ${owner.id} did not say which sessions it holds for a dashboard: ${errorMessage(e)}`);
      return undefined;
    }
  }

  /** Another replica's question for a dashboard it serves (signed; for the principal it names, about this replica's sessions). */
  private async answerPeer(res: ServerResponse, call: ForwardedCall): Promise<void> {
    const send = (status: number, type: string, body: Buffer | string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (call.target !== this.replica.owner) return send(409, 'application/json', JSON.stringify({ error: 'This question was meant for an earlier run of this replica.' }));
    const principal = call.identity.principal;
    const query = call.body as Partial<{ op: string; view_id: unknown }>;
    if (query.op === 'sessions') return send(200, 'application/json', JSON.stringify(this.localSessions(principal)));
    const session = typeof query.view_id === 'string' ? this.sessions.list(principal).find((s) => this.liveView.grants.viewIdOf(s) === query.view_id) : undefined;
    if (!session) return send(404, 'application/json', JSON.stringify({ error: 'You have no such session (it may have ended).' }));
    if (query.op === 'thumb') {
      const jpeg = await this.thumbnail(session);
      return jpeg ? send(200, 'image/jpeg', jpeg) : send(204, 'text/plain', '');
    }
    if (query.op === 'open') {
      try {
        const link = await this.openLiveView(session);
        return send(200, 'application/json', JSON.stringify({ url: link.url, expires_at: link.expiresAt }));
      } catch (e) {
        if (!isDomainError(e)) throw e;
        return send(409, 'application/json', JSON.stringify({ error: errorMessage(e), code: e.code }));
      }
    }
    send(400, 'application/json', JSON.stringify({ error: 'Unknown question.' }));
  }

  /** The grant's principal's session with this view id, if it exists. */
  sessionOf(grant: DashboardGrant, viewId: string): Session | undefined {
    return this.sessions.list(grant.principal).find((s) => this.liveView.grants.viewIdOf(s) === viewId);
  }

  /** The session's thumbnail (JPEG), or undefined when its desktop cannot be captured now. */
  thumbnail(session: Session): Promise<Buffer | undefined> {
    return this.thumbnails.of(session);
  }

  /** A one-time link to the session's live view, for the dashboard's click; COMPUTER_UNSUPPORTED when its desktop offers none. */
  openLiveView(session: Session): Promise<LiveViewLink> {
    return this.liveView.link(session, false);
  }

  private describe(s: Session): DashboardSession {
    const computer = s.lease?.computer;
    return {
      view_id: this.liveView.grants.viewIdOf(s),
      session_id: s.id,
      kind: s.kind,
      created_at: new Date(s.createdAt).toISOString(),
      last_activity: new Date(s.lastActivity).toISOString(),
      computer: computer?.id ?? null,
      controlled_by: s.control.heldBy ?? null,
      live_view: computer?.supports('openVnc') ?? false,
      viewers: this.liveView.viewerCount(s),
      tasks: [...s.tasks.values()].map((t) => ({ name: t.name, started_at: new Date(t.startedAt).toISOString() })),
      actions: (this.actions.get(s)?.list() ?? [])
        .reverse()
        .map((a) => ({ at: new Date(a.at).toISOString(), by: a.by, action: a.action, outcome: a.outcome, ...(a.durationMs === undefined ? {} : { duration_ms: a.durationMs }) })),
    };
  }

  private ring(session: Session): Ring<ActionEntry> {
    let ring = this.actions.get(session);
    if (!ring) this.actions.set(session, (ring = new Ring(ACTIONS_KEPT)));
    return ring;
  }
}

/** The key a dashboard's replica pins its id under (ReplicaDirectory.pin), for the others to forward its page's requests. */
export const dashboardKey = (dashboardId: string) => `dashboard:${dashboardId}`;

/** The principal a dashboard grant belongs to, as a question to another replica names it (no permissions: it reads only what the dashboard shows). */
function identityOf(principal: string): Identity {
  return { principal, via: principal === ANONYMOUS ? 'anonymous' : 'api-key', permissions: new Set() };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
