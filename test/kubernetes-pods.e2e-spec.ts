import { call, textOf } from './support/app';
import { waitFor } from './support/wait-for';
import { KubeHarness, NS, RELEASE, SERVER_POD, startKubeHarness } from './support/kubernetes-server';

/**
 * COMPUTER_PROVIDER=kubernetes, pods backend: the built server (node dist/main.js) against a FAKE
 * Kubernetes API server (test/support/fake-kubernetes.ts) that the test drives. No real cluster.
 */
describe('Kubernetes desktops as pods (built server against a fake Kubernetes API)', () => {
  let h: KubeHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('builds the desktop pod from the template: labels, owner, namespace, image, args, port, resources, runtime class, security', async () => {
    const template = {
      metadata: { labels: { team: 'agents' }, annotations: { 'example.com/note': 'desktop' } },
      spec: {
        runtimeClassName: 'gvisor',
        nodeSelector: { 'node-pool': 'desktops' },
        tolerations: [{ key: 'desktops', operator: 'Exists', effect: 'NoSchedule' }],
        securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 },
        containers: [
          {
            name: 'desktop',
            resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    };
    h = await startKubeHarness({
      POOL_MIN_WARM: '1',
      KUBERNETES_DESKTOP_IMAGE: 'registry.example.com/cua-mcp-server:1.2.3',
      KUBERNETES_POD_TEMPLATE: JSON.stringify(template),
      SCREEN_WIDTH: '1024',
      SCREEN_HEIGHT: '768',
    });
    const created = await waitFor('the warm pool to create a desktop pod', () => h!.fake.created.find((c) => c.kind === 'pods'));
    const pod = created.body;
    expect(pod.kind).toBe('Pod');
    expect(pod.metadata.namespace).toBe(NS);
    expect(pod.metadata.generateName).toBe(`${RELEASE}-desktop-`);
    expect(pod.metadata.labels).toEqual({
      team: 'agents',
      'app.kubernetes.io/name': 'cua-desktop',
      'app.kubernetes.io/instance': RELEASE,
      'app.kubernetes.io/component': 'desktop',
      'app.kubernetes.io/managed-by': 'cua-mcp-server',
      'cua-mcp-server/server': SERVER_POD.name,
    });
    expect(pod.metadata.annotations).toEqual({ 'example.com/note': 'desktop' });
    expect(pod.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: SERVER_POD.name, uid: SERVER_POD.uid, controller: false, blockOwnerDeletion: false }]);
    expect(pod.spec.runtimeClassName).toBe('gvisor');
    expect(pod.spec.nodeSelector).toEqual({ 'node-pool': 'desktops' });
    expect(pod.spec.tolerations).toEqual(template.spec.tolerations);
    expect(pod.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.terminationGracePeriodSeconds).toBe(5);
    expect(pod.spec.containers).toHaveLength(1);
    const c = pod.spec.containers[0];
    expect(c.name).toBe('desktop');
    expect(c.image).toBe('registry.example.com/cua-mcp-server:1.2.3');
    expect(c.command).toBeUndefined(); // the image's entrypoint (tini) stays PID 1
    expect(c.args).toEqual(['node', 'dist/main.js', 'computer-server', '--port', '8000', '--host', '0.0.0.0']);
    expect(c.ports).toEqual([{ name: 'cua', containerPort: 8000, protocol: 'TCP' }]);
    expect(c.env).toEqual([
      { name: 'SCREEN_WIDTH', value: '1024' },
      { name: 'SCREEN_HEIGHT', value: '768' },
      { name: 'COMPUTER_SERVER_API_KEY', value: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) },
    ]);
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] } });
    expect(c.readinessProbe).toEqual({ httpGet: { path: '/status', port: 8000 }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 3 });
    expect(h.server.output()).toMatch(/Kubernetes desktops: backend pods \(KUBERNETES_BACKEND=auto\) in namespace desktops/);
    // Readiness is watched, not polled: one list, then a watch with bookmarks on, and no further lists.
    await waitFor('a watch', () => h!.fake.watchRequests('pods').length > 0);
    const lists = h.fake.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${NS}/pods` && r.query.watch !== 'true');
    expect(lists).toHaveLength(1);
    expect(lists[0].query.labelSelector).toBe(`app.kubernetes.io/managed-by=cua-mcp-server,app.kubernetes.io/component=desktop,app.kubernetes.io/instance=${RELEASE}`);
    expect(h.fake.watchRequests('pods')[0].query).toMatchObject({ allowWatchBookmarks: 'true', resourceVersion: expect.stringMatching(/^\d+$/) });
  }, 40_000);

  it('a pod stuck in ImagePullBackOff: the waiting session gets an error naming it, the pod is deleted, the metric counts it', async () => {
    h = await startKubeHarness({ KUBERNETES_POD_READY_TIMEOUT_MS: '20000' });
    const client = await h.client();
    const shot = call(client, 'screenshot_cua', {});
    const created = await waitFor('a desktop pod', () => h!.fake.created.find((c) => c.kind === 'pods'));
    h.fake.podWaiting(NS, created.name, 'ErrImagePull', 'pull access denied');
    h.fake.podWaiting(NS, created.name, 'ImagePullBackOff', 'Back-off pulling image "registry.example.com/nope:1"');
    const r = await shot;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/COMPUTER_FAILED/);
    expect(textOf(r)).toMatch(new RegExp(`Desktop pod ${created.name} container desktop: ErrImagePull`));
    expect(textOf(r)).toMatch(/It was deleted/);
    await waitFor('the pod to be deleted', () => h!.fake.deletes.find((d) => d.name === created.name));
    expect(h.fake.deletes.filter((d) => d.name === created.name)).toEqual([{ kind: 'pods', name: created.name, gracePeriodSeconds: 5, propagationPolicy: undefined }]);
    await waitFor('the pod to be gone', () => !h!.fake.pods(NS).some((p) => p.metadata.name === created.name));
    expect(await h.metric('cua_desktop_pod_failures_total', { reason: 'ErrImagePull' })).toBe(1);
    expect(h.server.output()).toMatch(/reason ErrImagePull/);
  }, 40_000);

  it('a pod that stays Pending (no room in the cluster) past KUBERNETES_POD_READY_TIMEOUT_MS: clear error naming why, pod deleted', async () => {
    h = await startKubeHarness({ KUBERNETES_POD_READY_TIMEOUT_MS: '1500', POOL_ACQUIRE_TIMEOUT_MS: '10000' });
    const client = await h.client();
    const t0 = Date.now();
    const shot = call(client, 'screenshot_cua', {});
    const created = await waitFor('a desktop pod', () => h!.fake.created.find((c) => c.kind === 'pods'));
    h.fake.podUnschedulable(NS, created.name);
    const r = await shot;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/COMPUTER_FAILED/);
    expect(textOf(r)).toMatch(/the cluster has no room for it after 1500 ms \(KUBERNETES_POD_READY_TIMEOUT_MS\): starting \(Unschedulable: 0\/3 nodes are available: 3 Insufficient cpu\.\)/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await waitFor('the pod to be deleted', () => h!.fake.deletes.find((d) => d.name === created.name));
    expect(await h.metric('cua_desktop_pod_failures_total', { reason: 'Unschedulable' })).toBe(1);
  }, 40_000);

  it('a cluster out of capacity becomes POOL_EXHAUSTED within the acquire timeout, not a hang', async () => {
    h = await startKubeHarness({ KUBERNETES_POD_READY_TIMEOUT_MS: '60000', POOL_ACQUIRE_TIMEOUT_MS: '1500', POOL_MAX_SIZE: '1' });
    const client = await h.client();
    const t0 = Date.now();
    const shot = call(client, 'screenshot_cua', {});
    const created = await waitFor('a desktop pod', () => h!.fake.created.find((c) => c.kind === 'pods'));
    h.fake.podUnschedulable(NS, created.name);
    const r = await shot;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/POOL_EXHAUSTED/);
    expect(Date.now() - t0).toBeLessThan(8_000);
  }, 40_000);

  it('start-up reconciliation deletes desktops an earlier run left and keeps those of a live replica', async () => {
    const labels = (server: string) => ({
      'app.kubernetes.io/name': 'cua-desktop',
      'app.kubernetes.io/instance': RELEASE,
      'app.kubernetes.io/component': 'desktop',
      'app.kubernetes.io/managed-by': 'cua-mcp-server',
      'cua-mcp-server/server': server,
    });
    const owned = (name: string, uid: string) => [{ apiVersion: 'v1', kind: 'Pod', name, uid }];
    h = await startKubeHarness({}, (fake) => {
      // The other replica's server pod is alive.
      fake.add('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'it-cua-mcp-server-live', namespace: NS, uid: 'uid-live', labels: { app: 'server' } } });
      fake.add('pods', { metadata: { name: 'left-by-me', namespace: NS, labels: labels(SERVER_POD.name), ownerReferences: owned(SERVER_POD.name, SERVER_POD.uid) } });
      fake.add('pods', { metadata: { name: 'left-by-dead-server', namespace: NS, labels: labels('it-cua-mcp-server-dead'), ownerReferences: owned('it-cua-mcp-server-dead', 'uid-dead') } });
      fake.add('pods', { metadata: { name: 'of-live-replica', namespace: NS, labels: labels('it-cua-mcp-server-live'), ownerReferences: owned('it-cua-mcp-server-live', 'uid-live') } });
      fake.add('pods', { metadata: { name: 'of-other-release', namespace: NS, labels: { ...labels(SERVER_POD.name), 'app.kubernetes.io/instance': 'other' } } });
    });
    await waitFor('the orphans to be gone', () => !h!.fake.pods(NS).some((p) => p.metadata.name.startsWith('left-by')));
    expect(h.fake.deletes.map((d) => d.name).sort()).toEqual(['left-by-dead-server', 'left-by-me']);
    expect(h.fake.pods(NS).map((p) => p.metadata.name).sort()).toEqual(['it-cua-mcp-server-live', 'of-live-replica', 'of-other-release']);
    expect(h.server.output()).toMatch(/Start-up reconciliation: 3 pod\(s\) of release it found; 2 deleted as left by an earlier run \(left-by-me, left-by-dead-server\); 1 kept as another server's \(of-live-replica\)/);
  }, 40_000);
});
