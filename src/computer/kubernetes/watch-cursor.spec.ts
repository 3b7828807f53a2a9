import { WatchCursor } from './watch-cursor';

describe(WatchCursor.name, () => {
  const sut = () => new WatchCursor(100, 1000, () => 1);

  it('lists first, then watches from the list’s resourceVersion, moving on with events and bookmarks', () => {
    const c = sut();
    expect(c.next()).toEqual({ kind: 'list' });
    c.listed('10');
    expect(c.next()).toEqual({ kind: 'watch', resourceVersion: '10' });
    expect(c.event('ADDED', { metadata: { resourceVersion: '11' } })).toBe('apply');
    expect(c.event('BOOKMARK', { metadata: { resourceVersion: '15' } })).toBe('bookmark');
    expect(c.next()).toEqual({ kind: 'watch', resourceVersion: '15' });
  });

  it('resumes a dropped stream from the last version, without listing again', () => {
    const c = sut();
    c.listed('10');
    c.event('MODIFIED', { metadata: { resourceVersion: '12' } });
    c.ended(new Error('socket hang up'));
    expect(c.next()).toEqual({ kind: 'watch', resourceVersion: '12' });
  });

  it('lists again after 410 Gone, as an ERROR event or as the HTTP status', () => {
    const a = sut();
    a.listed('10');
    expect(a.event('ERROR', { code: 410, reason: 'Expired', message: 'too old resource version' })).toBe('expired');
    expect(a.next()).toEqual({ kind: 'list' });
    const b = sut();
    b.listed('10');
    b.ended(Object.assign(new Error('Gone'), { statusCode: 410 }));
    expect(b.next()).toEqual({ kind: 'list' });
    b.listed('20');
    expect(b.next()).toEqual({ kind: 'watch', resourceVersion: '20' });
  });

  it('backs off after failures in a row (doubling, capped) and resets on progress', () => {
    const c = sut();
    c.listed('1');
    expect(c.delayMs()).toBe(0);
    const delays = [1, 2, 3, 4, 5].map(() => (c.ended(new Error('refused')), c.delayMs()));
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
    c.event('ADDED', { metadata: { resourceVersion: '2' } });
    expect(c.delayMs()).toBe(0);
    expect(c.event('ERROR', { code: 500, message: 'internal' })).toBe('error');
  });
});
