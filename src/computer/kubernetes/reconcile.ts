import type { V1ObjectMeta } from '@kubernetes/client-node';
import { DesktopOwner, LABEL } from './desktop-labels';

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
