import { Setting, defineSettings, type SettingsOf, type SettingsProblem, Int, OneOf, Optional, Text } from '../../config/settings';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

class KubernetesEnv {
  @Setting('`pods` (desktop pods of our own), `agent-sandbox` (SandboxClaims), `auto` (agent-sandbox when its API is served and a warm pool or template is named, else pods); see [kubernetes.md](kubernetes.md).')
  @OneOf(['auto', 'pods', 'agent-sandbox'])
  KUBERNETES_BACKEND = 'auto';

  @Setting('Namespace of the desktops; unset: `POD_NAMESPACE`, else `default`.')
  @Optional() @Text(DNS_LABEL, 'a Kubernetes namespace name (lower-case letters, digits, -)')
  KUBERNETES_NAMESPACE?: string;

  @Setting('Image of a desktop pod (the chart sets its own image); it runs `node dist/main.js computer-server`. Unset: `cua-mcp-server:<version>`.')
  @Optional() @Text(/^\S+$/, 'an image reference without spaces')
  KUBERNETES_DESKTOP_IMAGE?: string;

  @Setting('Port of a desktop\'s computer-server.')
  @Int(1, 65535)
  KUBERNETES_DESKTOP_PORT = 8000;

  @Setting('The rest of the desktop pod as a JSON Pod: resources, nodeSelector, tolerations, runtimeClassName, securityContext …')
  @Optional() @Text()
  KUBERNETES_POD_TEMPLATE?: string;

  @Setting('The same as a file (YAML or JSON), e.g. a mounted ConfigMap; instead of `KUBERNETES_POD_TEMPLATE`.')
  @Optional() @Text()
  KUBERNETES_POD_TEMPLATE_FILE?: string;

  @Setting('A desktop not Ready this long after create is deleted, with an error naming its state (keep it below `POOL_CREATE_TIMEOUT_MS`).')
  @Int(1000, 3_600_000)
  KUBERNETES_POD_READY_TIMEOUT_MS = 45_000;

  @Setting('Grace period of a desktop pod\'s deletion, in seconds.')
  @Int(0, 3600)
  KUBERNETES_POD_DELETE_GRACE_SECONDS = 5;

  @Setting('Label value of this release\'s desktops; start-up reconciliation touches only its own release.')
  @Text(LABEL_VALUE, 'a label value (letters, digits, - _ ., at most 63)')
  KUBERNETES_RELEASE = 'cua-mcp-server';

  @Setting('agent-sandbox: the SandboxWarmPool a claim checks out from (v1beta1 claims).')
  @Optional() @Text(DNS_SUBDOMAIN, 'a Kubernetes object name')
  KUBERNETES_SANDBOX_WARM_POOL?: string;

  @Setting('agent-sandbox: the SandboxTemplate a claim is made from (v1alpha1 claims, served by agent-sandbox before v0.5).')
  @Optional() @Text(DNS_SUBDOMAIN, 'a Kubernetes object name')
  KUBERNETES_SANDBOX_TEMPLATE?: string;

  @Setting(
    'With `REDIS_URL` (desktops outlive the server pod that made them, for another replica to take their sessions over): the name of the server\'s ' +
      'Deployment, in `POD_NAMESPACE`, owner of the desktops instead of the pod, so that they still go with the release; looked up at start ' +
      '(`get` on that Deployment; the chart sets it and grants that). Unset, not found, or in another namespace than the desktops: they are owned by nothing ' +
      'and outlive an uninstall. Unused without `REDIS_URL`.',
  )
  @Optional() @Text(DNS_SUBDOMAIN, 'a Deployment name')
  KUBERNETES_OWNER_DEPLOYMENT?: string;

  @Setting('The server\'s own pod (downward API; the chart sets it): owner of its desktops (without `REDIS_URL`), so the cluster removes them if the server goes.')
  @Optional() @Text(DNS_SUBDOMAIN, 'a pod name')
  POD_NAME?: string;

  @Setting('The server\'s own pod UID (downward API).')
  @Optional() @Text(/^[0-9a-fA-F-]{8,64}$/, 'a pod UID')
  POD_UID?: string;

  @Setting('The server\'s own namespace (downward API).')
  @Optional() @Text(DNS_LABEL, 'a namespace name')
  POD_NAMESPACE?: string;
}

function jsonObject(v?: string): boolean {
  if (v === undefined) return true;
  try {
    const parsed: unknown = JSON.parse(v);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

export const KUBERNETES_SETTINGS = defineSettings({
  namespace: 'kubernetes',
  title: 'Desktops as Kubernetes pods (COMPUTER_PROVIDER=kubernetes)',
  docs: 'kubernetes.md',
  env: KubernetesEnv,
  check: (env) => {
    const problems: SettingsProblem[] = [];
    if (env.KUBERNETES_POD_TEMPLATE !== undefined && env.KUBERNETES_POD_TEMPLATE_FILE !== undefined) {
      problems.push({ key: 'KUBERNETES_POD_TEMPLATE_FILE', after: ['KUBERNETES_POD_TEMPLATE'], reason: 'set either KUBERNETES_POD_TEMPLATE or KUBERNETES_POD_TEMPLATE_FILE, not both' });
    }
    if (!jsonObject(env.KUBERNETES_POD_TEMPLATE)) problems.push({ key: 'KUBERNETES_POD_TEMPLATE', reason: 'must be a JSON object: a Pod such as {"spec":{"runtimeClassName":"gvisor"}}' });
    if (env.KUBERNETES_BACKEND === 'agent-sandbox' && !env.KUBERNETES_SANDBOX_WARM_POOL && !env.KUBERNETES_SANDBOX_TEMPLATE) {
      problems.push({
        key: 'KUBERNETES_BACKEND',
        after: ['KUBERNETES_SANDBOX_WARM_POOL', 'KUBERNETES_SANDBOX_TEMPLATE'],
        reason: 'agent-sandbox needs KUBERNETES_SANDBOX_WARM_POOL (or, for v1alpha1 claims, KUBERNETES_SANDBOX_TEMPLATE)',
      });
    }
    return problems;
  },
  build: (env) => ({
    backend: env.KUBERNETES_BACKEND as 'auto' | 'pods' | 'agent-sandbox',
    namespace: env.KUBERNETES_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
    desktopImage: env.KUBERNETES_DESKTOP_IMAGE,
    desktopPort: env.KUBERNETES_DESKTOP_PORT,
    /** The pod template as JSON text, or a file (YAML or JSON) holding it. */
    podTemplate: env.KUBERNETES_POD_TEMPLATE,
    podTemplateFile: env.KUBERNETES_POD_TEMPLATE_FILE,
    readyTimeoutMs: env.KUBERNETES_POD_READY_TIMEOUT_MS,
    deleteGraceSeconds: env.KUBERNETES_POD_DELETE_GRACE_SECONDS,
    release: env.KUBERNETES_RELEASE,
    sandboxWarmPool: env.KUBERNETES_SANDBOX_WARM_POOL,
    sandboxTemplate: env.KUBERNETES_SANDBOX_TEMPLATE,
    /** Shared mode: the server's Deployment, owner of the desktops (in the server's own namespace). */
    ownerDeployment: env.KUBERNETES_OWNER_DEPLOYMENT,
    /** The server's own pod, from the downward API; unset outside a cluster. */
    self: { podName: env.POD_NAME, podUid: env.POD_UID, podNamespace: env.POD_NAMESPACE },
  }),
});
export type KubernetesSettings = SettingsOf<typeof KUBERNETES_SETTINGS>;
