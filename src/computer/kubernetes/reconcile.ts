import type { V1ObjectMeta } from '@kubernetes/client-node';
import { ANNOTATION, DesktopOwner, LABEL } from './desktop-labels';

/**
 * Start-up reconciliation, decided without I/O. Each desktop of our release (pod or claim) found
 * at start is unknown to this process, which has just started:
 * - made by this server (its label names us, or it is owned by our own pod): left by an earlier
 *   run of ours (a crash, a container restart) → delete;
 * - owned by another server pod: delete if that pod no longer exists (ask, then `orphanedBy`);
 *   another live replica's desktops are kept;
 * - neither (no owner, another server's label): kept, since a live server elsewhere may use it.
 */
export type StartupDecision = { action: 'delete'; why: string } | { action: 'check-owner'; owner: { name: string; uid: string } } | { action: 'keep'; why: string };

export function decideAtStartup(meta: V1ObjectMeta, self: DesktopOwner): StartupDecision {
  const server = meta.labels?.[LABEL.server];
  const podOwner = meta.ownerReferences?.find((r) => r.kind === 'Pod' && r.apiVersion === 'v1');
  if (server === self.server) return { action: 'delete', why: 'left by an earlier run of this server' };
  if (podOwner && self.pod && podOwner.uid === self.pod.uid) return { action: 'delete', why: 'owned by this server pod but unknown to it' };
  if (podOwner) return { action: 'check-owner', owner: { name: podOwner.name, uid: podOwner.uid } };
  return { action: 'keep', why: `made by server ${server ?? '(unlabelled)'}, which may still be running` };
}

/** After looking the owner up: `current` is the pod of that name now, or undefined when there is none. */
export function orphanedBy(owner: { uid: string }, current: { uid?: string } | undefined): boolean {
  return !current || current.uid !== owner.uid;
}

/**
 * Shared mode (REDIS_URL): what to do with a desktop of the release that this replica does not use, decided without
 * I/O. Desktops outlive the replica that made them there (a session's record names its desktop, and the next
 * replica a call reaches adopts it), so an earlier run's desktops are not deleted at start as above. A desktop is
 * an orphan only when its maker (ANNOTATION.maker) is gone; even then it is deleted only once this replica has
 * taken its claim (ComputerClaims.take refuses while a live replica holds it, or while a session's record names it):
 * - used here (tracked), or being deleted already → keep;
 * - made without a shared registry (no maker annotation) → keep: the start-up rules above are for those;
 * - its maker is alive (it may be creating it, not yet claimed, or using it) → keep;
 * - otherwise → take its claim, and delete it when taken.
 */
export type OrphanDecision = { action: 'keep'; why: string } | { action: 'take'; maker: string };

export function decideOrphan(meta: V1ObjectMeta, tracked: boolean, alive: ReadonlySet<string>): OrphanDecision {
  const maker = meta.annotations?.[ANNOTATION.maker];
  if (tracked) return { action: 'keep', why: 'in use by this replica' };
  if (meta.deletionTimestamp) return { action: 'keep', why: 'being deleted' };
  if (maker === undefined) return { action: 'keep', why: 'made without a shared session registry' };
  if (alive.has(maker)) return { action: 'keep', why: `its replica ${maker} is alive` };
  return { action: 'take', maker };
}
