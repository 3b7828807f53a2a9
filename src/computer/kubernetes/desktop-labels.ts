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

export const ANNOTATION = {
  /**
   * Shared mode (REDIS_URL): the replica incarnation that made the desktop (its owner token, `id@epoch`). While that
   * replica lives, no other deletes the desktop, even before it is claimed (see decideOrphan in reconcile.ts).
   */
  maker: 'cua-mcp-server/made-by',
} as const;

export const DESKTOP_NAME = 'cua-desktop';
export const DESKTOP_COMPONENT = 'desktop';
export const MANAGER = 'cua-mcp-server';

/** A Kubernetes object that can own desktops (same namespace only). */
export interface OwnerObject {
  name: string;
  uid: string;
  namespace: string;
}

/** Who we are: the release (shared by every replica) and this server process. */
export interface DesktopOwner {
  release: string;
  /** This server's id, a label value. */
  server: string;
  /** The server's own pod, when it runs in one: owner of its desktops (same namespace only), unless `shared`. */
  pod?: OwnerObject;
  /**
   * Shared mode (REDIS_URL): desktops outlive the server pod that made them, so that another replica can take their
   * sessions over. They are owned by the server's Deployment instead (when known), never by a pod the cluster may
   * replace in a rolling update.
   */
  shared?: { deployment?: OwnerObject };
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
 * The ownerReference that lets the cluster's garbage collector delete a desktop when its owner goes: the server's
 * pod, or in shared mode the server's Deployment (so a desktop outlives any one server pod and still goes with the
 * release). Owners must live in the same namespace, so none is set across namespaces.
 */
export function ownerReferences(owner: DesktopOwner, namespace: string): V1OwnerReference[] | undefined {
  if (owner.shared) {
    const d = owner.shared.deployment;
    if (!d || d.namespace !== namespace) return undefined;
    return [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.name, uid: d.uid, controller: false, blockOwnerDeletion: false }];
  }
  const pod = owner.pod;
  if (!pod || pod.namespace !== namespace) return undefined;
  return [{ apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid, controller: false, blockOwnerDeletion: false }];
}

/** Shared mode: the annotations of a desktop made now by the replica incarnation `maker` (its owner token). */
export function makerAnnotations(maker: string | undefined): Record<string, string> {
  return maker === undefined ? {} : { [ANNOTATION.maker]: maker };
}

/** Whether an object carries every label of releaseSelector(release): a desktop of that release. */
export function isOfRelease(labels: Record<string, string> | undefined, release: string): boolean {
  const want = desktopLabels({ release, server: '' });
  return [LABEL.managedBy, LABEL.component, LABEL.instance].every((k) => labels?.[k] === want[k]);
}

/**
 * The handle a session record and a claim name a desktop by: `kubernetes:<namespace>/<kind>/<name>` (kind `pod` or
 * `sandboxclaim`). Nothing secret: the desktop's key stays in its pod.
 */
export function desktopHandle(namespace: string, noun: string, name: string): string {
  return `kubernetes:${namespace}/${noun.toLowerCase()}/${name}`;
}

/** The parts of a handle (desktopHandle); undefined for anything else. */
export function parseDesktopHandle(handle: string): { namespace: string; kind: string; name: string } | undefined {
  const m = /^kubernetes:([a-z0-9-]{1,63})\/([a-z]{1,40})\/([a-z0-9.-]{1,253})$/.exec(handle);
  return m ? { namespace: m[1], kind: m[2], name: m[3] } : undefined;
}

/** A generateName prefix: the release, cut so that the generated name stays a short DNS label. */
export function namePrefix(release: string): string {
  const base = release.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40).replace(/^-+|-+$/g, '') || 'cua';
  return `${base}-desktop-`;
}

export function metadataOf(obj: { metadata?: V1ObjectMeta }): V1ObjectMeta {
  return obj.metadata ?? {};
}
