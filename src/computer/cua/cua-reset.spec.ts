import { newTopLevelPaths } from './cua-reset';

describe('newTopLevelPaths', () => {
  const before = new Set(['/home/u/keep', '/home/u/docs', '/home/u/docs/old.txt', '/tmp/.X11-unix']);

  it('lists what appeared under home and /tmp, a new folder once (not its contents)', () => {
    const now = [...before, '/home/u/docs/new.txt', '/home/u/work', '/home/u/work/a', '/home/u/work/a/b', '/tmp/x', '/home/u/workshop'];
    expect(newTopLevelPaths(before, now, '/home/u')).toEqual(['/home/u/docs/new.txt', '/home/u/work', '/home/u/workshop', '/tmp/x']);
  });

  it('never lists anything outside the scratch folders, under their hidden top-level entries (X sockets and locks, settings), or a path with .. or a newline', () => {
    const now = [...before, '/etc/passwd', '/home/user2/x', '/home/u/../../etc/x', '/tmp/a\n/etc/shadow', '/tmpx/y', '/tmp/.X11-unix/X7', '/tmp/.X7-lock', '/home/u/.bashrc'];
    expect(newTopLevelPaths(before, now, '/home/u')).toEqual([]);
  });

  it('keeps everything that was there before', () => {
    expect(newTopLevelPaths(before, before, '/home/u/')).toEqual([]);
  });
});
