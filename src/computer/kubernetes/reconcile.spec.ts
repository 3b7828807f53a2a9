import { DesktopOwner, LABEL } from './desktop-labels';
import { decideAtStartup, orphanedBy } from './reconcile';

describe(decideAtStartup.name, () => {
  const self: DesktopOwner = { release: 'r', server: 'srv-a', pod: { name: 'srv-a', uid: 'uid-a', namespace: 'ns' } };
  const owned = (name: string, uid: string) => [{ apiVersion: 'v1', kind: 'Pod', name, uid }];

  it('deletes what this server left (by label, or owned by its own pod)', () => {
    expect(decideAtStartup({ labels: { [LABEL.server]: 'srv-a' } }, self).action).toBe('delete');
    expect(decideAtStartup({ labels: { [LABEL.server]: 'renamed' }, ownerReferences: owned('srv-a', 'uid-a') }, self).action).toBe('delete');
  });

  it('asks about another server’s desktops and keeps those nobody can vouch for', () => {
    expect(decideAtStartup({ labels: { [LABEL.server]: 'srv-b' }, ownerReferences: owned('srv-b', 'uid-b') }, self)).toEqual({ action: 'check-owner', owner: { name: 'srv-b', uid: 'uid-b' } });
    expect(decideAtStartup({ labels: { [LABEL.server]: 'laptop' } }, self).action).toBe('keep');
  });
});

describe(orphanedBy.name, () => {
  it('is orphaned when the owner pod is gone or was replaced by another of the same name', () => {
    expect(orphanedBy({ uid: 'u1' }, undefined)).toBe(true);
    expect(orphanedBy({ uid: 'u1' }, { uid: 'u2' })).toBe(true);
    expect(orphanedBy({ uid: 'u1' }, { uid: 'u1' })).toBe(false);
  });
});
