import type { Session } from '../session/session.module';
import type { ViewGrant, ViewGrants } from './view-grants';

/**
 * Live views inside an MCP Apps host (the chat). Such a view runs in the host's sandboxed frame, at an
 * origin that is not this server's, where the grant cookie cannot work; it opens the WebSocket with a link
 * token instead, which is spent there as anywhere else. The grant it yields is remembered under that token,
 * so the view can name itself later in `live_view_control` (take, release, state), a tool call that the
 * host sends over the principal's own MCP connection: the token only says which view, the connection says
 * who asks, and another principal's call finds nothing.
 */
export class AppViews {
  private readonly views = new Map<string, ViewGrant>();

  constructor(private readonly grants: ViewGrants) {}

  /** Spends a link token on a view's WebSocket; the grant, now known by that token, or undefined (ViewGrants.redeem). */
  open(viewId: string, token: string, now = Date.now()): ViewGrant | undefined {
    const grant = this.grants.redeem(viewId, token, now);
    if (grant) this.views.set(token, grant);
    return grant;
  }

  /** The grant of the view that opened with `token`, if it is this principal's and still good. */
  find(principal: string, token: string, now = Date.now()): ViewGrant | undefined {
    const g = this.views.get(token);
    if (!g) return undefined;
    if (g.expiresAt <= now || g.session.ended) {
      this.views.delete(token);
      return undefined;
    }
    return g.principal === principal ? g : undefined;
  }

  /** Forgets the views of a session that ended. */
  forget(session: Session): void {
    for (const [token, g] of this.views) if (g.session === session) this.views.delete(token);
  }

  /** Drops views whose grant expired. */
  sweep(now = Date.now()): void {
    for (const [token, g] of this.views) if (g.expiresAt <= now || g.session.ended) this.views.delete(token);
  }

  get size(): number {
    return this.views.size;
  }
}
