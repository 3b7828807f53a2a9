import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';

/**
 * The labels that mark a desktop (a pod, or a SandboxClaim and its pod) as ours. Pure: only
 * types come from @kubernetes/client-node, so this file loads under Jest.
 */
export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  /** Which server process made it (its pod name, or the host name outside a cluster). */
  server: 'cua-mcp-server/server',
} as const;

export const DESKTOP_NAME = 'cua-desktop';
export const DESKTOP_COMPONENT = 'desktop';
export const MANAGER = 'cua-mcp-server';

/** Who we are: the release (shared by every replica) and this server process. */
export interface DesktopOwner {
  release: string;
  /** This server's id, a label value. */
  server: string;
  /** The server's own pod, when it runs in one: owner of its desktops (same namespace only). */
  pod?: { name: string; uid: string; namespace: string };
}

export function desktopLabels(owner: DesktopOwner): Record<string, string> {
  return {
    [LABEL.name]: DESKTOP_NAME,
    [LABEL.instance]: owner.release,
    [LABEL.component]: DESKTOP_COMPONENT,
    [LABEL.managedBy]: MANAGER,
    [LABEL.server]: owner.server,
  };
}

/** Selects every desktop of the release, whichever server made it. */
export function releaseSelector(release: string): string {
  return `${LABEL.managedBy}=${MANAGER},${LABEL.component}=${DESKTOP_COMPONENT},${LABEL.instance}=${release}`;
}

/** Turns any text into a valid label value (at most 63 characters, alphanumeric at both ends). */
export function toLabelValue(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned || 'unknown';
}

/**
 * The ownerReference that lets the cluster's garbage collector delete a desktop when the server's
 * pod goes. Owners must live in the same namespace, so none is set across namespaces.
 */
export function ownerReferences(owner: DesktopOwner, namespace: string): V1OwnerReference[] | undefined {
  const pod = owner.pod;
  if (!pod || pod.namespace !== namespace) return undefined;
  return [{ apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid, controller: false, blockOwnerDeletion: false }];
}

/** A generateName prefix: the release, cut so that the generated name stays a short DNS label. */
export function namePrefix(release: string): string {
  const base = release.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40).replace(/^-+|-+$/g, '') || 'cua';
  return `${base}-desktop-`;
}

export function metadataOf(obj: { metadata?: V1ObjectMeta }): V1ObjectMeta {
  return obj.metadata ?? {};
}
