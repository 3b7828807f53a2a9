import sharp from 'sharp';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, textOf } from './support/app';
import { FakeCuaPeer } from './support/fake-cua-peer';
import { FakeKubernetes } from './support/fake-kubernetes';
import { waitFor } from './support/wait-for';
import { KubeHarness, NS, RELEASE, SERVER_POD, startKubeHarness } from './support/kubernetes-server';
import { spawnServer } from './support/server-process';

/**
 * KUBERNETES_BACKEND=agent-sandbox (kubernetes-sigs/agent-sandbox): a computer is a SandboxClaim;
 * the built server against a FAKE Kubernetes API serving the extensions.agents.x-k8s.io group,
 * and a FAKE cua peer standing in for the claimed sandbox's pod.
 */
describe('Kubernetes desktops as agent-sandbox claims (built server against a fake Kubernetes API)', () => {
  let h: KubeHarness | undefined;
  let peer: FakeCuaPeer;

  beforeEach(async () => {
    peer = await FakeCuaPeer.start();
    const png = (await sharp({ create: { width: 640, height: 400, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer()).toString('base64');
    peer.handler = (req) => (req.command === 'screenshot' ? { reply: { success: true, image_data: png } } : undefined);
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await peer.close();
  });

  it('auto picks agent-sandbox when its CRDs are served: a claim on the warm pool, reached at the sandbox pod IP, deleted (foreground) once on cleanup', async () => {
    h = await startKubeHarness({ KUBERNETES_DESKTOP_PORT: new URL(peer.url).port, KUBERNETES_SANDBOX_WARM_POOL: 'desktops-pool', LOG_LEVEL: 'debug' }, (fake) => {
      fake.sandboxVersions = ['v1beta1', 'v1alpha1'];
    });
    expect(h.server.output()).toMatch(/backend agent-sandbox \(KUBERNETES_BACKEND=auto\): SandboxClaims v1beta1 from SandboxWarmPool desktops-pool \(v1beta1\) in namespace desktops/);
    const client = await h.client();
    const shot = call(client, 'screenshot_cua', { session_id: 'sb' });
    const created = await waitFor('a claim', () => h!.fake.created.find((c) => c.kind === 'sandboxclaims'));
    const labels = {
      'app.kubernetes.io/name': 'cua-desktop',
      'app.kubernetes.io/instance': RELEASE,
      'app.kubernetes.io/component': 'desktop',
      'app.kubernetes.io/managed-by': 'cua-mcp-server',
      'cua-mcp-server/server': SERVER_POD.name,
    };
    expect(created.body).toEqual({
      apiVersion: 'extensions.agents.x-k8s.io/v1beta1',
      kind: 'SandboxClaim',
      metadata: {
        generateName: `${RELEASE}-desktop-`,
        namespace: NS,
        labels,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: SERVER_POD.name, uid: SERVER_POD.uid, controller: false, blockOwnerDeletion: false }],
      },
      spec: { warmPoolRef: { name: 'desktops-pool' }, additionalPodMetadata: { labels } },
    });
    expect(h.fake.created.filter((c) => c.kind === 'pods')).toHaveLength(0); // the controller makes the pods, not us
    h.fake.setStatus('sandboxclaims', NS, created.name, { conditions: [{ type: 'Ready', status: 'False', reason: 'SandboxNotReady', message: 'Sandbox is not ready' }] });
    // The server has seen the claim not ready (its debug line), and keeps waiting: no connection, no error yet.
    await waitFor('the server to see the claim not ready', () => h!.server.output().includes(`${created.name}: starting (SandboxNotReady: Sandbox is not ready)`));
    expect(peer.connections).toBe(0);
    h.fake.setStatus('sandboxclaims', NS, created.name, {
      conditions: [{ type: 'Ready', status: 'True', reason: 'DependenciesReady', message: '' }],
      sandbox: { name: 'desktops-pool-x7k2p', podIPs: ['127.0.0.1'] },
    });
    const r = await shot;
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toMatch(/640x400/);
    await call(client, 'cleanup_session', { session_id: 'sb' });
    await waitFor('the claim to be gone', () => h!.fake.claims(NS).length === 0);
    expect(h.fake.deletes).toEqual([{ kind: 'sandboxclaims', name: created.name, gracePeriodSeconds: 5, propagationPolicy: 'Foreground' }]);
  }, 40_000);

  it('a claim the controller rejects fails the waiting session with the reason, and the claim is deleted', async () => {
    h = await startKubeHarness({ KUBERNETES_BACKEND: 'agent-sandbox', KUBERNETES_DESKTOP_PORT: new URL(peer.url).port, KUBERNETES_SANDBOX_TEMPLATE: 'desktop-template' }, (fake) => {
      fake.sandboxVersions = ['v1alpha1'];
    });
    const client = await h.client();
    const shot = call(client, 'screenshot_cua', {});
    const created = await waitFor('a claim', () => h!.fake.created.find((c) => c.kind === 'sandboxclaims'));
    expect(created.body.apiVersion).toBe('extensions.agents.x-k8s.io/v1alpha1');
    expect(created.body.spec).toMatchObject({ sandboxTemplateRef: { name: 'desktop-template' } });
    h.fake.setStatus('sandboxclaims', NS, created.name, { conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidMetadata', message: 'label value too long' }] });
    const r = await shot;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(new RegExp(`COMPUTER_FAILED.*Desktop SandboxClaim ${created.name} claim not ready: InvalidMetadata \\(label value too long\\)\\. It was deleted\\.`));
    await waitFor('the claim to be deleted', () => h!.fake.deletes.find((d) => d.name === created.name));
    expect(await h.metric('cua_desktop_pod_failures_total', { reason: 'InvalidMetadata' })).toBe(1);
  }, 40_000);

  it('auto without a warm pool or template uses pods and says why; agent-sandbox without its CRDs refuses to start, saying what to do', async () => {
    h = await startKubeHarness({}, (fake) => {
      fake.sandboxVersions = ['v1beta1'];
    });
    expect(h.server.output()).toMatch(/KUBERNETES_BACKEND=auto: not using agent-sandbox because neither KUBERNETES_SANDBOX_WARM_POOL nor KUBERNETES_SANDBOX_TEMPLATE is set/);
    expect(h.server.output()).toMatch(/backend pods \(KUBERNETES_BACKEND=auto\)/);
    await h.close();
    h = undefined;

    const fake = await new FakeKubernetes().start();
    const dir = mkdtempSync(join(tmpdir(), 'kube-'));
    try {
      const failed = spawnServer({ COMPUTER_PROVIDER: 'kubernetes', KUBECONFIG: fake.writeKubeconfig(dir), KUBERNETES_BACKEND: 'agent-sandbox', KUBERNETES_SANDBOX_WARM_POOL: 'p', POOL_MIN_WARM: '0' });
      await expect(failed).rejects.toThrow(/KUBERNETES_BACKEND=agent-sandbox, but the agent-sandbox API \(extensions\.agents\.x-k8s\.io, sandboxclaims\) is not served by this cluster\. Install agent-sandbox/);
    } finally {
      await fake.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
