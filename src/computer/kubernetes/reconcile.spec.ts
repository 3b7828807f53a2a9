import { ANNOTATION, DesktopOwner, LABEL } from './desktop-labels';
import { decideAtStartup, decideOrphan, orphanedBy } from './reconcile';

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

describe(decideOrphan.name, () => {
  const made = (maker?: string, more: object = {}) => ({ name: 'd', ...(maker ? { annotations: { [ANNOTATION.maker]: maker } } : {}), ...more });
  const alive = new Set(['pod-a@3']);

  it('takes (to delete) a desktop whose maker is gone and that this replica does not use', () => {
    expect(decideOrphan(made('pod-b@4'), false, alive)).toEqual({ action: 'take', maker: 'pod-b@4' });
    // An earlier incarnation of a live replica is gone too.
    expect(decideOrphan(made('pod-a@2'), false, alive)).toEqual({ action: 'take', maker: 'pod-a@2' });
  });

  it('keeps what a live replica made (it may be creating it), what this replica uses, what is being deleted, and what no replica of a shared registry made', () => {
    expect(decideOrphan(made('pod-a@3'), false, alive)).toEqual({ action: 'keep', why: 'its replica pod-a@3 is alive' });
    expect(decideOrphan(made('pod-b@4'), true, alive).action).toBe('keep');
    expect(decideOrphan(made('pod-b@4', { deletionTimestamp: new Date() }), false, alive).action).toBe('keep');
    expect(decideOrphan(made(), false, alive)).toEqual({ action: 'keep', why: 'made without a shared session registry' });
  });
});
