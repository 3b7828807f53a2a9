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
});
