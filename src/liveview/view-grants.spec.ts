import { Session } from '../session/session.module';
import { ViewGrants } from './view-grants';

describe(ViewGrants.name, () => {
  const T0 = 1_000_000;
  const session = (id = 's1', principal = 'alice') => new Session(id, principal, 'named', 60_000, T0);
  let grants: ViewGrants;
  beforeEach(() => (grants = new ViewGrants(60_000, 3_600_000)));

  it('turns a link token into a grant for that page, once', () => {
    const s = session();
    const { token, viewId, expiresAt } = grants.issue('alice', s, true, T0);
    expect(expiresAt).toBe(T0 + 60_000);
    const g = grants.redeem(viewId, token, T0 + 1000);
    expect(g).toMatchObject({ principal: 'alice', session: s, viewId, control: true, expiresAt: T0 + 1000 + 3_600_000 });
    expect(g!.id).not.toBe(token);
    expect(grants.redeem(viewId, token, T0 + 1001)).toBeUndefined();
    expect(grants.find(viewId, g!.id, T0 + 2000)).toBe(g);
  });

  it('keeps one view id per session, different between sessions of the same name', () => {
    // A '.' never occurs in a random view id (base64url), so only a view id made from the session id could hold this one.
    const a = session('my.desk', 'alice');
    const b = session('my.desk', 'bob');
    expect(grants.viewIdOf(a)).toBe(grants.viewIdOf(a));
    expect(grants.viewIdOf(a)).not.toBe(grants.viewIdOf(b));
    expect(grants.viewIdOf(a)).not.toContain('my.desk');
  });

  it('refuses an expired token, and a token used on another page (which spends it)', () => {
    const s = session();
    const other = session('s2');
    const late = grants.issue('alice', s, false, T0);
    expect(grants.redeem(late.viewId, late.token, T0 + 60_000)).toBeUndefined();
    const misplaced = grants.issue('alice', s, false, T0);
    expect(grants.redeem(grants.viewIdOf(other), misplaced.token, T0 + 1)).toBeUndefined();
    expect(grants.redeem(misplaced.viewId, misplaced.token, T0 + 2)).toBeUndefined();
  });

  it('refuses a grant on another page, after it expires, or once its session has ended', () => {
    const s = session();
    const other = session('s2');
    const { token, viewId } = grants.issue('alice', s, false, T0);
    const g = grants.redeem(viewId, token, T0)!;
    expect(grants.find(grants.viewIdOf(other), g.id, T0)).toBeUndefined();
    expect(grants.find(viewId, undefined, T0)).toBeUndefined();
    expect(grants.find(viewId, 'made-up', T0)).toBeUndefined();
    expect(grants.find(viewId, g.id, T0 + 3_600_000)).toBeUndefined();

    const again = grants.issue('alice', s, false, T0);
    const g2 = grants.redeem(viewId, again.token, T0)!;
    s.ended = true;
    expect(grants.find(viewId, g2.id, T0 + 1)).toBeUndefined();
  });

  it('forgets a session: its pending tokens and grants stop working', () => {
    const s = session();
    const pending = grants.issue('alice', s, false, T0);
    const used = grants.issue('alice', s, false, T0);
    const g = grants.redeem(used.viewId, used.token, T0)!;
    grants.forget(s);
    expect(grants.size()).toEqual({ tokens: 0, grants: 0 });
    expect(grants.redeem(pending.viewId, pending.token, T0)).toBeUndefined();
    expect(grants.find(used.viewId, g.id, T0)).toBeUndefined();
  });

  it('sweeps expired tokens and grants', () => {
    const s = session();
    grants.issue('alice', s, false, T0);
    const used = grants.issue('alice', s, false, T0);
    grants.redeem(used.viewId, used.token, T0);
    grants.sweep(T0 + 60_000);
    expect(grants.size()).toEqual({ tokens: 0, grants: 1 });
    grants.sweep(T0 + 3_600_000);
    expect(grants.size()).toEqual({ tokens: 0, grants: 0 });
  });

  describe('dashboard grants', () => {
    it('turn a dashboard token into a grant for that principal\'s dashboard, once', () => {
      const { token, dashboardId, expiresAt } = grants.issueDashboard('alice', T0);
      expect(expiresAt).toBe(T0 + 60_000);
      expect(dashboardId).toBe(grants.dashboardIdOf('alice'));
      expect(dashboardId).not.toContain('alice');
      expect(dashboardId).not.toBe(grants.dashboardIdOf('bob'));
      const g = grants.redeemDashboard(dashboardId, token, T0 + 1000);
      expect(g).toMatchObject({ kind: 'dashboard', principal: 'alice', dashboardId, expiresAt: T0 + 1000 + 3_600_000 });
      expect(g!.id).not.toBe(token);
      expect(grants.redeemDashboard(dashboardId, token, T0 + 1001)).toBeUndefined();
      expect(grants.findDashboard(dashboardId, g!.id, T0 + 2000)).toBe(g);
    });

    it('carry whether the page may show recordings (the permission recordings:read of whoever asked), false unless said', () => {
      const withRecordings = grants.issueDashboard('alice', T0, { recordings: true });
      expect(grants.redeemDashboard(withRecordings.dashboardId, withRecordings.token, T0)).toMatchObject({ recordings: true });
      const without = grants.issueDashboard('alice', T0);
      expect(grants.redeemDashboard(without.dashboardId, without.token, T0)).toMatchObject({ recordings: false });
    });

    it('refuse an expired token, another principal\'s dashboard (which spends the token) and an expired grant', () => {
      const late = grants.issueDashboard('alice', T0);
      expect(grants.redeemDashboard(late.dashboardId, late.token, T0 + 60_000)).toBeUndefined();
      const misplaced = grants.issueDashboard('alice', T0);
      expect(grants.redeemDashboard(grants.dashboardIdOf('bob'), misplaced.token, T0)).toBeUndefined();
      expect(grants.redeemDashboard(misplaced.dashboardId, misplaced.token, T0)).toBeUndefined();

      const ok = grants.issueDashboard('alice', T0);
      const g = grants.redeemDashboard(ok.dashboardId, ok.token, T0)!;
      expect(grants.findDashboard(grants.dashboardIdOf('bob'), g.id, T0)).toBeUndefined();
      expect(grants.findDashboard(ok.dashboardId, undefined, T0)).toBeUndefined();
      expect(grants.findDashboard(ok.dashboardId, g.id, T0 + 3_600_000)).toBeUndefined();
      expect(grants.size()).toEqual({ tokens: 0, grants: 0 });
    });

    it('never open a page of the other kind: tokens and grants are not interchangeable', () => {
      const s = session();
      const viewId = grants.viewIdOf(s);
      const dash = grants.issueDashboard('alice', T0);
      // A dashboard token used on a session's page (even one whose view id were guessed to match) is spent and refused.
      expect(grants.redeem(viewId, dash.token, T0)).toBeUndefined();
      expect(grants.redeemDashboard(dash.dashboardId, dash.token, T0)).toBeUndefined();

      const view = grants.issue('alice', s, false, T0);
      expect(grants.redeemDashboard(grants.dashboardIdOf('alice'), view.token, T0)).toBeUndefined();

      const d = grants.issueDashboard('alice', T0);
      const dg = grants.redeemDashboard(d.dashboardId, d.token, T0)!;
      const v = grants.issue('alice', s, false, T0);
      const vg = grants.redeem(v.viewId, v.token, T0)!;
      expect(grants.find(viewId, dg.id, T0)).toBeUndefined();
      expect(grants.findDashboard(d.dashboardId, vg.id, T0)).toBeUndefined();
    });

    it('outlive the end of a session, and are swept when they expire', () => {
      const s = session();
      const d = grants.issueDashboard('alice', T0);
      const dg = grants.redeemDashboard(d.dashboardId, d.token, T0)!;
      grants.issueDashboard('alice', T0);
      grants.forget(s);
      expect(grants.findDashboard(d.dashboardId, dg.id, T0)).toBe(dg);
      grants.sweep(T0 + 60_000);
      expect(grants.size()).toEqual({ tokens: 0, grants: 1 });
      grants.sweep(T0 + 3_600_000);
      expect(grants.size()).toEqual({ tokens: 0, grants: 0 });
    });
  });
});
