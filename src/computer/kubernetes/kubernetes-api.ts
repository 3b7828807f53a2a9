import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { SANDBOX_CLAIMS, SANDBOX_GROUP, SANDBOX_VERSIONS, SandboxVersion } from './sandbox-claim';
import type { SandboxClaimObject } from './desktop-state';
import { statusCodeOf } from './watch-cursor';
import { errorMessage } from '../../common/domain-error';

type ClientNode = typeof import('@kubernetes/client-node');
type KubeConfig = InstanceType<ClientNode['KubeConfig']>;

/** One kind of desktop object in one namespace (pods, or SandboxClaims), as the fleet uses it. */
export interface DesktopResource<T extends KubernetesObject> {
  /** For messages: "pod", "SandboxClaim". */
  readonly noun: string;
  create(body: T): Promise<T>;
  /** Undefined when there is none of that name. */
  get(name: string): Promise<T | undefined>;
  list(labelSelector: string): Promise<{ items: T[]; resourceVersion: string }>;
  /** False when it was already gone. */
  remove(name: string, gracePeriodSeconds: number): Promise<boolean>;
  /**
   * Watches from `resourceVersion` with bookmarks. `onEvent` gets each event; `onDone` is called
   * once when the stream ends (with the error, if it failed). Returns a function that stops it.
   */
  watch(labelSelector: string, resourceVersion: string, onEvent: (type: string, object: unknown) => void, onDone: (error?: unknown) => void): Promise<() => void>;
}

/** The cluster, through @kubernetes/client-node (loaded when first needed; see load()). */
export class KubernetesApi {
  private constructor(
    private readonly k8s: ClientNode,
    private readonly kc: KubeConfig,
  ) {}

  /**
   * Loads the client (an ES module, which Node 20 loads through require) and the configuration:
   * KUBECONFIG or ~/.kube/config when present, otherwise the in-cluster service account.
   */
  static load(): KubernetesApi {
    let k8s: ClientNode;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: the package is ESM-only and Jest (CommonJS) cannot load it
      k8s = require('@kubernetes/client-node') as ClientNode;
    } catch (e) {
      throw new Error(`COMPUTER_PROVIDER=kubernetes needs @kubernetes/client-node, an ES module that Node loads with require from 20.19 on (${errorMessage(e)}): run Node 20.19 or later.`);
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    return new KubernetesApi(k8s, kc);
  }

  /** The API server's address, for logs (no credentials). */
  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '(no cluster configured)';
  }

  pods(namespace: string): DesktopResource<V1Pod> {
    const core = this.kc.makeApiClient(this.k8s.CoreV1Api);
    return {
      noun: 'pod',
      create: (body) => core.createNamespacedPod({ namespace, body }),
      get: (name) => orUndefined(core.readNamespacedPod({ name, namespace })),
      list: async (labelSelector) => {
        const list = await core.listNamespacedPod({ namespace, labelSelector });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      remove: (name, gracePeriodSeconds) => removed(core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds })),
      watch: (labelSelector, resourceVersion, onEvent, onDone) => this.watch(`/api/v1/namespaces/${namespace}/pods`, labelSelector, resourceVersion, onEvent, onDone),
    };
  }

  claims(namespace: string, version: SandboxVersion): DesktopResource<SandboxClaimObject> {
    const custom = this.kc.makeApiClient(this.k8s.CustomObjectsApi);
    const where = { group: SANDBOX_GROUP, version, namespace, plural: SANDBOX_CLAIMS };
    return {
      noun: 'SandboxClaim',
      create: async (body) => (await custom.createNamespacedCustomObject({ ...where, body })) as SandboxClaimObject,
      get: async (name) => (await orUndefined(custom.getNamespacedCustomObject({ ...where, name }))) as SandboxClaimObject | undefined,
      list: async (labelSelector) => {
        const list = (await custom.listNamespacedCustomObject({ ...where, labelSelector })) as { items?: SandboxClaimObject[]; metadata?: { resourceVersion?: string } };
        return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      // Foreground: the claim stays until its sandbox and pod are gone, so waiting for the claim waits for the desktop.
      remove: (name, gracePeriodSeconds) => removed(custom.deleteNamespacedCustomObject({ ...where, name, gracePeriodSeconds, propagationPolicy: 'Foreground' })),
      watch: (labelSelector, resourceVersion, onEvent, onDone) =>
        this.watch(`/apis/${SANDBOX_GROUP}/${version}/namespaces/${namespace}/${SANDBOX_CLAIMS}`, labelSelector, resourceVersion, onEvent, onDone),
    };
  }

  /** Parses YAML (or JSON, a subset of it) with the client's own parser. */
  parseYaml(text: string): unknown {
    return this.k8s.loadYaml(text);
  }

  /** The server's own pod (for the owner check at start), or undefined when there is none of that name. */
  async getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.pods(namespace).get(name);
  }

  /** A Deployment's uid (the owner of desktops in shared mode), or undefined when there is none of that name. */
  async getDeploymentUid(namespace: string, name: string): Promise<string | undefined> {
    const apps = this.kc.makeApiClient(this.k8s.AppsV1Api);
    const deployment = await orUndefined(apps.readNamespacedDeployment({ name, namespace }));
    return deployment?.metadata?.uid;
  }

  /** SandboxClaim versions the cluster serves (discovery of the agent-sandbox CRDs); a 404 means not served. */
  async servedSandboxVersions(): Promise<{ served: SandboxVersion[]; problems: string[] }> {
    const custom = this.kc.makeApiClient(this.k8s.CustomObjectsApi);
    const served: SandboxVersion[] = [];
    const problems: string[] = [];
    for (const version of SANDBOX_VERSIONS) {
      try {
        const list = await custom.getAPIResources({ group: SANDBOX_GROUP, version });
        if (list.resources.some((r) => r.name === SANDBOX_CLAIMS)) served.push(version);
      } catch (e) {
        if (statusCodeOf(e) !== 404) problems.push(`${SANDBOX_GROUP}/${version}: ${apiErrorMessage(e)}`);
      }
    }
    return { served, problems };
  }

  private async watch(path: string, labelSelector: string, resourceVersion: string, onEvent: (type: string, object: unknown) => void, onDone: (error?: unknown) => void): Promise<() => void> {
    const watch = new this.k8s.Watch(this.kc);
    // The server ends a watch after timeoutSeconds; it is then resumed from the last resourceVersion.
    const query = { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 };
    const controller = await watch.watch(path, query, (type: string, object: unknown) => onEvent(type, object), (err: unknown) => onDone(err ?? undefined));
    return () => controller.abort();
  }
}

async function orUndefined<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (e) {
    if (statusCodeOf(e) === 404) return undefined;
    throw e;
  }
}

async function removed(work: Promise<unknown>): Promise<boolean> {
  try {
    await work;
    return true;
  } catch (e) {
    if (statusCodeOf(e) === 404) return false;
    throw e;
  }
}

/**
 * A short message for an API error: "HTTP 403: pods is forbidden: …" from the Status body when
 * there is one (never the request's headers, which may carry a token).
 */
export function apiErrorMessage(e: unknown): string {
  const code = statusCodeOf(e);
  const body = (e as { body?: unknown } | null)?.body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      message = body.slice(0, 300);
    }
  } else if (body && typeof body === 'object') {
    message = (body as { message?: string }).message;
  }
  if (code !== undefined) return `HTTP ${code}${message ? `: ${message}` : ''}`;
  const m = e instanceof Error ? e.message : String(e);
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
}
