import { ANNOTATION, desktopHandle, desktopLabels, isOfRelease, namePrefix, ownerReferences, parseDesktopHandle, toLabelValue } from './desktop-labels';
import { buildDesktopPod, desktopApiKey } from './pod-manifest';
import { buildSandboxClaim, chooseClaimVersion } from './sandbox-claim';

const owner = { release: 'prod', server: 'srv-1', pod: { name: 'srv-1', uid: 'u-1', namespace: 'desk' } };
const base = { namespace: 'desk', owner, defaultImage: 'cua-mcp-server:0.1.0', port: 8000, screen: { width: 1280, height: 800 }, deleteGraceSeconds: 5 };

describe(buildDesktopPod.name, () => {
  it('without a template: our computer-server on the default image, locked down, with its own API key', () => {
    const pod = buildDesktopPod({ ...base, template: {}, apiKey: 'k-1' });
    const c = pod.spec!.containers[0];
    expect(c).toMatchObject({ name: 'desktop', image: 'cua-mcp-server:0.1.0', args: ['node', 'dist/main.js', 'computer-server', '--port', '8000', '--host', '0.0.0.0'] });
    // bubblewrap inside the desktop needs a user namespace and its own /proc; nothing else is granted.
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      procMount: 'Unmasked',
      seccompProfile: { type: 'Unconfined' },
      appArmorProfile: { type: 'Unconfined' },
    });
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false, enableServiceLinks: false, hostUsers: false, securityContext: { runAsNonRoot: true } });
    expect(desktopApiKey(pod)).toBe('k-1');
  });

  it('a template container with its own command keeps it, gets no key, and the template image wins over the default', () => {
    const pod = buildDesktopPod({
      ...base,
      apiKey: 'k-2',
      template: { spec: { containers: [{ name: 'sidecar', image: 'busybox' }, { name: 'desktop', image: 'trycua/cua-xfce:latest', command: ['/start.sh'] }] } },
    });
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['sidecar', 'desktop']);
    expect(pod.spec!.containers[0]).toEqual({ name: 'sidecar', image: 'busybox' });
    expect(pod.spec!.containers[1]).toMatchObject({ image: 'trycua/cua-xfce:latest', command: ['/start.sh'] });
    expect(pod.spec!.containers[1].args).toBeUndefined();
    expect(desktopApiKey(pod)).toBeUndefined();
    // Another image gets the locked-down defaults: no user-namespace or /proc allowances it did not ask for.
    expect(pod.spec!.containers[1].securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.spec!.hostUsers).toBeUndefined();
    expect(pod.spec!.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });

  it('our labels win over the template’s; no owner reference across namespaces', () => {
    const pod = buildDesktopPod({ ...base, namespace: 'elsewhere', template: { metadata: { labels: { 'app.kubernetes.io/instance': 'spoofed', extra: 'x' } } } });
    expect(pod.metadata!.labels).toMatchObject({ 'app.kubernetes.io/instance': 'prod', extra: 'x' });
    expect(pod.metadata!.ownerReferences).toBeUndefined();
  });
});

describe('shared mode (REDIS_URL): desktops outlive the server pod that made them', () => {
  const deployment = { name: 'prod-cua-mcp-server', uid: 'd-1', namespace: 'desk' };
  const shared = { ...owner, shared: { deployment } };
  const byDeployment = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'prod-cua-mcp-server', uid: 'd-1', controller: false, blockOwnerDeletion: false }];

  it('a pod is owned by the server’s Deployment, never by its pod, and names the replica incarnation that made it', () => {
    const pod = buildDesktopPod({ ...base, owner: shared, template: { metadata: { annotations: { team: 'a' } } }, maker: 'srv-1@7' });
    expect(pod.metadata!.ownerReferences).toEqual(byDeployment);
    expect(pod.metadata!.annotations).toEqual({ team: 'a', [ANNOTATION.maker]: 'srv-1@7' });
    // Without shared mode, nothing changes: the pod owns it, and nothing names a replica.
    const alone = buildDesktopPod({ ...base, template: {} });
    expect(alone.metadata!.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'srv-1', uid: 'u-1', controller: false, blockOwnerDeletion: false }]);
    expect(alone.metadata!.annotations).toBeUndefined();
  });

  it('a SandboxClaim the same way', () => {
    const claim = buildSandboxClaim({ namespace: 'desk', owner: shared, version: 'v1beta1', warmPool: 'desktops', maker: 'srv-1@7' });
    expect(claim.metadata!.ownerReferences).toEqual(byDeployment);
    expect(claim.metadata!.annotations).toEqual({ [ANNOTATION.maker]: 'srv-1@7' });
  });

  it('no owner at all when the Deployment is unknown or in another namespace (the pod is never the owner then)', () => {
    expect(ownerReferences({ ...owner, shared: {} }, 'desk')).toBeUndefined();
    expect(ownerReferences(shared, 'elsewhere')).toBeUndefined();
  });

  it('names a desktop by a handle that carries nothing secret, and reads back only such handles', () => {
    expect(desktopHandle('desk', 'pod', 'prod-desktop-abcde')).toBe('kubernetes:desk/pod/prod-desktop-abcde');
    expect(desktopHandle('desk', 'SandboxClaim', 'prod-desktop-x')).toBe('kubernetes:desk/sandboxclaim/prod-desktop-x');
    expect(parseDesktopHandle('kubernetes:desk/pod/prod-desktop-abcde')).toEqual({ namespace: 'desk', kind: 'pod', name: 'prod-desktop-abcde' });
    for (const bad of ['cua:http://127.0.0.1:9', 'kubernetes:desk/pod/../x', 'kubernetes:desk/pod/a/b', 'kubernetes:Desk/pod/a', 'kubernetes:desk/pod/']) expect(parseDesktopHandle(bad)).toBeUndefined();
  });

  it('tells a desktop of the release from anything else', () => {
    expect(isOfRelease(desktopLabels(owner), 'prod')).toBe(true);
    expect(isOfRelease(desktopLabels(owner), 'other')).toBe(false);
    expect(isOfRelease({ ...desktopLabels(owner), 'app.kubernetes.io/component': 'server' }, 'prod')).toBe(false);
    expect(isOfRelease(undefined, 'prod')).toBe(false);
  });
});

describe('desktop labels', () => {
  it('makes label values and name prefixes valid', () => {
    expect(toLabelValue('my.host_name:with/slashes')).toBe('my.host_name-with-slashes');
    expect(toLabelValue('-'.repeat(70))).toBe('unknown');
    expect(toLabelValue('a'.repeat(80))).toHaveLength(63);
    expect(namePrefix('My_Release')).toBe('my-release-desktop-');
    expect(desktopLabels(owner)['cua-mcp-server/server']).toBe('srv-1');
    expect(ownerReferences(owner, 'desk')).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'srv-1', uid: 'u-1', controller: false, blockOwnerDeletion: false }]);
  });
});

describe(chooseClaimVersion.name, () => {
  it('v1beta1 with a warm pool, v1alpha1 with a template, and says why when nothing fits', () => {
    expect(chooseClaimVersion(['v1beta1', 'v1alpha1'], 'pool', undefined).version).toBe('v1beta1');
    expect(chooseClaimVersion(['v1beta1', 'v1alpha1'], undefined, 'tpl').version).toBe('v1alpha1');
    expect(chooseClaimVersion(['v1alpha1'], 'pool', undefined)).toEqual({ why: 'this cluster serves SandboxClaim v1alpha1 only, which needs KUBERNETES_SANDBOX_TEMPLATE' });
    expect(chooseClaimVersion([], 'pool', undefined).why).toMatch(/not served/);
    expect(chooseClaimVersion(['v1beta1'], undefined, undefined).why).toMatch(/neither KUBERNETES_SANDBOX_WARM_POOL nor KUBERNETES_SANDBOX_TEMPLATE/);
  });
});

describe(buildSandboxClaim.name, () => {
  it('v1beta1: claims from the warm pool; v1alpha1: from the template with the pool as its warmpool policy', () => {
    const beta = buildSandboxClaim({ namespace: 'desk', owner, version: 'v1beta1', warmPool: 'desktops' });
    expect(beta).toMatchObject({ apiVersion: 'extensions.agents.x-k8s.io/v1beta1', kind: 'SandboxClaim', metadata: { generateName: 'prod-desktop-', namespace: 'desk' } });
    expect(beta.spec).toEqual({ warmPoolRef: { name: 'desktops' }, additionalPodMetadata: { labels: desktopLabels(owner) } });
    const alpha = buildSandboxClaim({ namespace: 'desk', owner, version: 'v1alpha1', template: 'desktop-tpl', warmPool: 'desktops' });
    expect(alpha.spec).toMatchObject({ sandboxTemplateRef: { name: 'desktop-tpl' }, warmpool: 'desktops' });
  });
});
