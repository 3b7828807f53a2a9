import { Session } from '../session/session.module';
import { AppViews } from './app-views';
import { ViewGrants } from './view-grants';

describe(AppViews.name, () => {
  const T0 = 1_000_000;
  const session = (id = 's1', principal = 'alice') => new Session(id, principal, 'named', 60_000, T0);
  let grants: ViewGrants;
  let sut: AppViews;
  beforeEach(() => {
    grants = new ViewGrants(60_000, 3_600_000);
    sut = new AppViews(grants);
  });

  it('spends a link token once and then knows the view by it, for its own principal only', () => {
    const s = session();
    const { token, viewId } = grants.issue('alice', s, false, T0);
    const grant = sut.open(viewId, token, T0 + 10);
    expect(grant).toMatchObject({ principal: 'alice', session: s, viewId });
    expect(sut.open(viewId, token, T0 + 20)).toBeUndefined(); // spent
    expect(sut.find('alice', token, T0 + 30)).toBe(grant);
    expect(sut.find('bob', token, T0 + 30)).toBeUndefined();
    expect(sut.find('alice', 'made-up', T0 + 30)).toBeUndefined();
  });

  it('knows no view by a token that was refused (expired, or for another page)', () => {
    const s = session();
    const late = grants.issue('alice', s, false, T0);
    expect(sut.open(late.viewId, late.token, T0 + 60_000)).toBeUndefined();
    expect(sut.find('alice', late.token, T0 + 60_001)).toBeUndefined();
    const elsewhere = grants.issue('alice', s, false, T0);
    expect(sut.open('AAAAAAAAAAAAAAAA', elsewhere.token, T0 + 1)).toBeUndefined();
    expect(sut.find('alice', elsewhere.token, T0 + 2)).toBeUndefined();
    expect(sut.size).toBe(0);
  });

  it('forgets a view when its grant expires or its session ends', () => {
    const s = session();
    const other = session('s2');
    const a = grants.issue('alice', s, false, T0);
    const b = grants.issue('alice', other, false, T0);
    sut.open(a.viewId, a.token, T0);
    sut.open(b.viewId, b.token, T0);
    sut.forget(s);
    expect(sut.find('alice', a.token, T0 + 1)).toBeUndefined();
    expect(sut.find('alice', b.token, T0 + 1)).toBeDefined();
    sut.sweep(T0 + 3_600_000);
    expect(sut.size).toBe(0);
    expect(sut.find('alice', b.token, T0 + 3_600_000)).toBeUndefined();
  });

  it('finds nothing once the session has ended, even before it is forgotten', () => {
    const s = session();
    const { token, viewId } = grants.issue('alice', s, false, T0);
    sut.open(viewId, token, T0);
    s.ended = true;
    expect(sut.find('alice', token, T0 + 1)).toBeUndefined();
    expect(sut.size).toBe(0);
  });
});
