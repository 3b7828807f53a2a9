import { randomBytes } from 'node:crypto';
import type { Session } from '../session/session.module';

/** What a browser may do once it has opened a live-view link: watch one session of one principal. */
export interface ViewGrant {
  readonly kind: 'view';
  /** The cookie's value: random, unguessable, never logged. */
  readonly id: string;
  readonly principal: string;
  readonly session: Session;
  /** The opaque id in the page's path (`/live/<viewId>/`). */
  readonly viewId: string;
  /** The link asked for control: the page takes it as soon as it opens. */
  readonly control: boolean;
  /** Names this browser as the holder of the session's control (not a secret; shown and logged). */
  readonly holder: string;
  readonly expiresAt: number;
}

/** What a browser may do once it has opened a dashboard link: see the sessions of one principal, and open their live views. */
export interface DashboardGrant {
  readonly kind: 'dashboard';
  /** The cookie's value: random, unguessable, never logged. */
  readonly id: string;
  readonly principal: string;
  /** The opaque id in the dashboard's path (`/live/dashboard/<dashboardId>/`), one per principal. */
  readonly dashboardId: string;
  /** Whether the page may list and download the principal's recordings (the permission recordings:read of whoever asked for the link). */
  readonly recordings: boolean;
  readonly expiresAt: number;
}

type PendingToken =
  | { kind: 'view'; principal: string; session: Session; viewId: string; control: boolean; expiresAt: number }
  | { kind: 'dashboard'; principal: string; dashboardId: string; recordings: boolean; expiresAt: number };

const random = () => randomBytes(32).toString('base64url');

/**
 * Live-view links and the cookies they turn into. A link carries a token that works once, within
 * its time to live, for one session of one principal; redeeming it yields a grant (the cookie),
 * valid for that session's page alone until it expires or the session ends. Each session gets an
 * opaque view id on first use, so its page's path names neither the session nor the principal
 * (session ids are only unique per principal).
 *
 * The dashboard's links work the same way, for a principal rather than one session: its grant is
 * valid for that principal's dashboard page alone (its own opaque id, one per principal) until it
 * expires. A token or grant of one kind never opens a page of the other.
 */
export class ViewGrants {
  private readonly tokens = new Map<string, PendingToken>();
  private readonly grants = new Map<string, ViewGrant | DashboardGrant>();
  private readonly viewIds = new WeakMap<Session, string>();
  private readonly sessions = new Map<string, Session>();
  private readonly dashboardIds = new Map<string, string>();
  private readonly knownDashboards = new Set<string>();

  constructor(
    private readonly tokenTtlMs: number,
    private readonly grantTtlMs: number,
  ) {}

  /** Whether a view id is one of this process's sessions'. */
  knows(viewId: string): boolean {
    return this.sessions.has(viewId);
  }

  /** The session's view id (made on first use). */
  viewIdOf(session: Session): string {
    let id = this.viewIds.get(session);
    if (!id) {
      id = randomBytes(12).toString('base64url');
      this.viewIds.set(session, id);
      this.sessions.set(id, session);
    }
    return id;
  }

  /** A new link token for this session. */
  issue(principal: string, session: Session, control: boolean, now = Date.now()): { token: string; viewId: string; expiresAt: number } {
    const viewId = this.viewIdOf(session);
    const token = random();
    const expiresAt = now + this.tokenTtlMs;
    this.tokens.set(token, { kind: 'view', principal, session, viewId, control, expiresAt });
    return { token, viewId, expiresAt };
  }

  /** Whether a dashboard id is one of this process's. */
  knowsDashboard(dashboardId: string): boolean {
    return this.knownDashboards.has(dashboardId);
  }

  /** The principal's dashboard id (made on first use). */
  dashboardIdOf(principal: string): string {
    let id = this.dashboardIds.get(principal);
    if (!id) {
      id = randomBytes(16).toString('base64url');
      this.dashboardIds.set(principal, id);
      this.knownDashboards.add(id);
    }
    return id;
  }

  /** A new link token for this principal's dashboard. */
  issueDashboard(principal: string, now = Date.now(), options: { recordings?: boolean } = {}): { token: string; dashboardId: string; expiresAt: number } {
    const dashboardId = this.dashboardIdOf(principal);
    const token = random();
    const expiresAt = now + this.tokenTtlMs;
    this.tokens.set(token, { kind: 'dashboard', principal, dashboardId, recordings: options.recordings ?? false, expiresAt });
    return { token, dashboardId, expiresAt };
  }

  /** Swaps a dashboard link token for a grant, like redeem(). */
  redeemDashboard(dashboardId: string, token: string, now = Date.now()): DashboardGrant | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    this.tokens.delete(token);
    if (t.kind !== 'dashboard' || t.dashboardId !== dashboardId || t.expiresAt <= now) return undefined;
    const grant: DashboardGrant = { kind: 'dashboard', id: random(), principal: t.principal, dashboardId, recordings: t.recordings, expiresAt: now + this.grantTtlMs };
    this.grants.set(grant.id, grant);
    return grant;
  }

  /** The dashboard grant a cookie holds for this dashboard, when it is still good. */
  findDashboard(dashboardId: string, grantId: string | undefined, now = Date.now()): DashboardGrant | undefined {
    const g = grantId === undefined ? undefined : this.grants.get(grantId);
    if (g?.kind !== 'dashboard' || g.dashboardId !== dashboardId) return undefined;
    if (g.expiresAt <= now) {
      this.grants.delete(g.id);
      return undefined;
    }
    return g;
  }

  /**
   * Swaps a link token for a grant. The token is spent by the first attempt, whatever its outcome;
   * undefined when it is unknown, spent, expired, for another page, or its session has ended.
   */
  redeem(viewId: string, token: string, now = Date.now()): ViewGrant | undefined {
    const t = this.tokens.get(token);
    if (!t) return undefined;
    this.tokens.delete(token);
    if (t.kind !== 'view' || t.viewId !== viewId || t.expiresAt <= now || t.session.ended) return undefined;
    const grant: ViewGrant = {
      kind: 'view',
      id: random(),
      principal: t.principal,
      session: t.session,
      viewId,
      control: t.control,
      holder: `${t.principal} (live view ${randomBytes(3).toString('hex')})`,
      expiresAt: now + this.grantTtlMs,
    };
    this.grants.set(grant.id, grant);
    return grant;
  }

  /** The grant a cookie holds for this page, when it is still good. */
  find(viewId: string, grantId: string | undefined, now = Date.now()): ViewGrant | undefined {
    const g = grantId === undefined ? undefined : this.grants.get(grantId);
    if (g?.kind !== 'view' || g.viewId !== viewId) return undefined;
    if (g.expiresAt <= now || g.session.ended) {
      this.grants.delete(g.id);
      return undefined;
    }
    return g;
  }

  /** Forgets everything about a session that ended: its tokens, grants and view id. */
  forget(session: Session): void {
    for (const [token, t] of this.tokens) if (t.kind === 'view' && t.session === session) this.tokens.delete(token);
    for (const [id, g] of this.grants) if (g.kind === 'view' && g.session === session) this.grants.delete(id);
    const viewId = this.viewIds.get(session);
    if (viewId) this.sessions.delete(viewId);
  }

  /** Drops expired tokens and grants. */
  sweep(now = Date.now()): void {
    for (const [token, t] of this.tokens) if (t.expiresAt <= now) this.tokens.delete(token);
    for (const [id, g] of this.grants) if (g.expiresAt <= now) this.grants.delete(id);
  }

  /** How many tokens and grants are held (for tests and metrics). */
  size(): { tokens: number; grants: number } {
    return { tokens: this.tokens.size, grants: this.grants.size };
  }
}
