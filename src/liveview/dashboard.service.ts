import { Injectable, OnModuleInit } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { Session, SessionService } from '../session/session.module';
import { TaskService, type TaskStepDoneEvent } from '../task/task.module';
import { type ActionEntry, Ring } from './action-ring';
import { LiveViewService, type LiveViewLink } from './liveview.service';
import { LIVE_VIEW_SETTINGS, type LiveViewSettings } from './liveview.settings';
import { Thumbnails } from './thumbnails';
import type { DashboardGrant } from './view-grants';

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
  private readonly actions = new WeakMap<Session, Ring<ActionEntry>>();

  constructor(
    @InjectSettings(LIVE_VIEW_SETTINGS) private readonly settings: LiveViewSettings,
    private readonly sessions: SessionService,
    private readonly tasks: TaskService,
    private readonly liveView: LiveViewService,
    private readonly thumbnails: Thumbnails,
  ) {}

  onModuleInit() {
    this.tasks.events.on('step', (event) => this.noteStep(event));
  }

  /** A one-time link to the principal's dashboard; `recordings`: whether its page may list and download the principal's recordings. */
  link(principal: string, options: { recordings: boolean }): LiveViewLink {
    if (!this.settings.enabled) throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'The dashboard is switched off on this server (LIVE_VIEW=false).');
    const { token, dashboardId, expiresAt } = this.liveView.grants.issueDashboard(principal, Date.now(), options);
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

  /** What the dashboard shows: the grant's principal's sessions, oldest first. */
  state(grant: DashboardGrant): DashboardState {
    return { principal: grant.principal, sessions: this.sessions.list(grant.principal).map((s) => this.describe(s)) };
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
