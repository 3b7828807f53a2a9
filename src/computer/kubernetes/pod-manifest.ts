import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { desktopLabels, DesktopOwner, makerAnnotations, namePrefix, ownerReferences } from './desktop-labels';

/** The container of the template that runs the desktop: the one named so, else the first. */
export const DESKTOP_CONTAINER = 'desktop';

export interface DesktopPodInput {
  namespace: string;
  owner: DesktopOwner;
  /** KUBERNETES_DESKTOP_IMAGE when set; otherwise the template's image, otherwise `defaultImage`. */
  image?: string;
  defaultImage: string;
  port: number;
  screen: { width: number; height: number };
  /** Grace period the pod gets when deleted. */
  deleteGraceSeconds: number;
  /** KUBERNETES_POD_TEMPLATE(_FILE), parsed: any part of a Pod. */
  template: V1Pod;
  /**
   * A fresh key for this desktop's computer-server (COMPUTER_SERVER_API_KEY), set only when the
   * container runs our computer-server (the template gives no command or args of its own).
   */
  apiKey?: string;
  /** Shared mode: the replica incarnation making it (owner token), annotated on the pod (ANNOTATION.maker). */
  maker?: string;
}

/** The environment variable through which a desktop's computer-server gets its API key. */
export const API_KEY_ENV = 'COMPUTER_SERVER_API_KEY';

/** What a desktop container runs when the template gives neither command nor args: this project's computer-server mode. */
export function computerServerArgs(port: number): string[] {
  return ['node', 'dist/main.js', 'computer-server', '--port', String(port), '--host', '0.0.0.0'];
}

/** The API key a desktop pod's computer-server was given (see DesktopPodInput.apiKey), if any. */
export function desktopApiKey(pod: V1Pod): string | undefined {
  const containers = pod.spec?.containers ?? [];
  const desktop = containers.find((c) => c.name === DESKTOP_CONTAINER) ?? containers[0];
  return desktop?.env?.find((e) => e.name === API_KEY_ENV)?.value;
}

/**
 * Builds the desktop pod: the template (resources, nodeSelector, tolerations, runtimeClassName,
 * securityContext, … as the operator wrote them), with what the server needs on top — our labels
 * (they win over the template's), the owner reference to the server's pod (in shared mode its
 * Deployment, and the annotation naming the replica that made it), the namespace, the
 * image, the computer-server port, a readiness probe on it, and locked-down defaults for what the
 * template leaves out (no service-account token, no privilege escalation, all capabilities
 * dropped, non-root, never restarted: a desktop that dies is replaced).
 *
 * Our own computer-server runs its desktop inside bubblewrap, which needs an unprivileged user
 * namespace and its own /proc: for it the defaults are a pod user namespace (`hostUsers: false`),
 * `procMount: Unmasked` and Unconfined seccomp and AppArmor (the same as the chart's
 * `desktopSandbox` for the server pod). Any other image gets RuntimeDefault seccomp.
 */
export function buildDesktopPod(input: DesktopPodInput): V1Pod {
  const template: V1Pod = structuredClone(input.template ?? {});
  const spec = template.spec ?? { containers: [] };
  const containers = [...(spec.containers ?? [])];
  let at = containers.findIndex((c) => c.name === DESKTOP_CONTAINER);
  if (at < 0) at = containers.length ? 0 : (containers.push({ name: DESKTOP_CONTAINER }), 0);
  containers[at] = desktopContainer(containers[at], input);

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: namePrefix(input.owner.release),
      namespace: input.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...desktopLabels(input.owner) },
      ...(template.metadata?.annotations || input.maker !== undefined ? { annotations: { ...(template.metadata?.annotations ?? {}), ...makerAnnotations(input.maker) } } : {}),
      ...(ownerReferences(input.owner, input.namespace) ? { ownerReferences: ownerReferences(input.owner, input.namespace) } : {}),
    },
    spec: {
      ...spec,
      containers,
      restartPolicy: spec.restartPolicy ?? 'Never',
      automountServiceAccountToken: spec.automountServiceAccountToken ?? false,
      enableServiceLinks: spec.enableServiceLinks ?? false,
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? input.deleteGraceSeconds,
      ...(runsOurServer(containers[at]) && spec.hostUsers === undefined ? { hostUsers: false } : {}),
      securityContext: spec.securityContext ?? (runsOurServer(containers[at]) ? { runAsNonRoot: true } : { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }),
    },
  };
}

function desktopContainer(from: V1Container, input: DesktopPodInput): V1Container {
  const port = input.port;
  const env: V1EnvVar[] = [...(from.env ?? [])];
  const setDefault = (name: string, value: string) => {
    if (!env.some((e) => e.name === name)) env.push({ name, value });
  };
  setDefault('SCREEN_WIDTH', String(input.screen.width));
  setDefault('SCREEN_HEIGHT', String(input.screen.height));
  const ours = !from.command && !from.args;
  if (ours && input.apiKey) setDefault(API_KEY_ENV, input.apiKey);
  const ports = [...(from.ports ?? [])];
  if (!ports.some((p) => p.containerPort === port)) ports.push({ name: 'cua', containerPort: port, protocol: 'TCP' });
  return {
    ...from,
    name: from.name || DESKTOP_CONTAINER,
    image: input.image ?? from.image ?? input.defaultImage,
    // args, not command: the image's entrypoint (tini) stays PID 1.
    ...(ours ? { args: computerServerArgs(port) } : {}),
    env,
    ports,
    readinessProbe: from.readinessProbe ?? { httpGet: { path: '/status', port }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 3 },
    securityContext: from.securityContext ?? (ours ? SANDBOXED_DESKTOP : { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }),
  };
}

/** What bubblewrap inside our computer-server needs, and nothing more (no capabilities, no escalation). */
const SANDBOXED_DESKTOP: V1Container['securityContext'] = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  procMount: 'Unmasked',
  seccompProfile: { type: 'Unconfined' },
  appArmorProfile: { type: 'Unconfined' },
};

/** True for the desktop container as desktopContainer() made it for our computer-server. */
function runsOurServer(c: V1Container): boolean {
  return !c.command && (c.args ?? []).includes('computer-server');
}
