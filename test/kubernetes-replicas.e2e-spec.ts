import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { call, textOf } from './support/app';
import { FakeCuaPeer } from './support/fake-cua-peer';
import { FakeKubernetes, type Obj } from './support/fake-kubernetes';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { spawnServer, type NodeProcess, type ServerProcess } from './support/server-process';
import { waitFor } from './support/wait-for';

jest.setTimeout(120_000);

const NS = 'desktops';
const RELEASE = 'it';
const DEPLOYMENT = 'it-cua-mcp-server';
const MAKER = 'cua-mcp-server/made-by';

type Replica = ServerProcess & Pick<NodeProcess, 'stop'>;

/**
 * Replicas sharing Redis with COMPUTER_PROVIDER=kubernetes: a desktop pod outlives the server pod that made it.
 * Two built server processes (two pods of one Deployment: own POD_NAME, POD_UID, REPLICA_ID; one REDIS_URL, a
 * short REPLICA_LEASE_MS) against one FAKE Kubernetes API (test/support/fake-kubernetes.ts, whose pods report
 * podIP 127.0.0.1; a fake kubelet makes every new pod Ready) and one FAKE cua computer-server peer
 * (test/support/fake-cua-peer.ts) on KUBERNETES_DESKTOP_PORT standing in for every desktop; Redis is a real
 * redis-server.
 */
describe('Kubernetes desktops shared by replicas (REDIS_URL; built servers, fake Kubernetes API, fake desktop peer)', () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof createClient>;
  let fake: FakeKubernetes;
  let peer: FakeCuaPeer;
  let dir: string;
  let kubelet: NodeJS.Timeout;
  let deploymentUid: string;
  const replicas: Replica[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = createClient({ url: redis.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterAll(async () => {
    admin?.destroy();
    await redis?.stop();
  });
  beforeEach(async () => {
    fake = await new FakeKubernetes().start();
    deploymentUid = fake.addDeployment(NS, DEPLOYMENT);
    peer = await FakeCuaPeer.start();
    dir = mkdtempSync(join(tmpdir(), 'kube-replicas-'));
    // The fake kubelet: every pod that is still Pending becomes Ready.
    kubelet = setInterval(() => {
      for (const p of fake.pods(NS)) if (p.status?.phase === 'Pending' && !p.metadata.deletionTimestamp) fake.podReady(NS, p.metadata.name);
    }, 50);
  });
  afterEach(async () => {
    clearInterval(kubelet);
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(replicas.splice(0).map((r) => r.stop(10_000)));
    await peer.close();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
    await admin.flushAll();
  });

  async function replica(pod: 'pod-a' | 'pod-b', extra: Record<string, string> = {}): Promise<Replica> {
    const server = await spawnServer({
      COMPUTER_PROVIDER: 'kubernetes',
      KUBECONFIG: fake.writeKubeconfig(dir),
      KUBERNETES_SERVICE_HOST: '',
      KUBERNETES_NAMESPACE: NS,
      KUBERNETES_RELEASE: RELEASE,
      KUBERNETES_OWNER_DEPLOYMENT: DEPLOYMENT,
      KUBERNETES_DESKTOP_PORT: new URL(peer.url).port,
      POD_NAME: `${DEPLOYMENT}-5c6d7-${pod}`,
      POD_UID: pod === 'pod-a' ? '0b8f5c1e-5f43-4a8e-9a51-0d7d1c1f2a11' : '6e2b1f0a-93c4-4d7e-b1aa-2f0c3d4e5f66',
      POD_NAMESPACE: NS,
      POOL_MIN_WARM: '0',
      POOL_ACQUIRE_TIMEOUT_MS: '10000',
      REDIS_URL: redis.url,
      REPLICA_ID: pod,
      REPLICA_LEASE_MS: '3000',
      LOG_LEVEL: 'debug',
      ...extra,
    });
    replicas.push(server);
    return server;
  }

  async function client(server: ServerProcess): Promise<Client> {
    const c = new Client({ name: 'kube-replicas-test', version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    clients.push(c);
    return c;
  }

  const created = () => fake.created.filter((c) => c.kind === 'pods');
  const deletesOf = (name: string) => fake.deletes.filter((d) => d.kind === 'pods' && d.name === name);
  const computerOf = async (c: Client, session: string) => {
    const stats = JSON.parse(textOf(await call(c, 'get_session_stats'))) as { sessions: Record<string, { computer: string | null }> };
    return stats.sessions[session]?.computer;
  };
  const claimHolder = (name: string) => admin.hGet(`cua:{r}:c:kubernetes:${NS}/pod/${name}`, 'holder');
  const keyOf = (pod: Obj) => (pod.spec.containers[0].env as { name: string; value?: string }[]).find((e) => e.name === 'COMPUTER_SERVER_API_KEY')?.value;
  /** B's orphan sweep has looked at `n` pods of other replicas while they lived, and deleted none. */
  const keptBy = (server: ServerProcess, n: number) => waitFor(`a sweep of ${n} pod(s) of other replicas that deletes none`, () => server.output().includes(`Orphan sweep: ${n} pod(s) of other replicas; 0 deleted`), 15_000);

  it('kill -9 of the replica that made a desktop: another takes its session over on the same pod, deletes its warm stock, and deletes the pod once at cleanup', async () => {
    const a = await replica('pod-a', { POOL_MIN_WARM: '1' });
    const onA = await client(a);
    expect((await call(onA, 'run_command', { session_id: 'work', command: 'echo hi' })).isError).toBeFalsy();
    const used = (await computerOf(onA, 'work'))!;
    // The other pod is pod-a's warm stock (the first one, refilled; or the one the session did not get).
    const spare = (await waitFor('pod-a to keep a pod in stock', () => created().find((c) => c.name !== used))).name;

    // Desktops are owned by the Deployment, never by the server pod that made them, and name the replica that did.
    for (const c of created()) {
      expect(c.body.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: DEPLOYMENT, uid: deploymentUid, controller: false, blockOwnerDeletion: false }]);
      expect(c.body.metadata.annotations[MAKER]).toMatch(/^pod-a@\d+$/);
    }
    expect(await claimHolder(used)).toMatch(/^pod-a@\d+$/);

    // pod-b sees pod-a's two pods while pod-a lives, and leaves them alone.
    const b = await replica('pod-b');
    await keptBy(b, 2);
    expect(fake.deletes).toEqual([]);

    a.proc.kill('SIGKILL');
    await a.exited;
    const onB = await client(b);
    // While pod-a's lease runs, pod-b cannot serve the session; then it takes it over.
    await waitFor(
      'pod-b to take the session over',
      async () => !(await call(onB, 'run_command', { session_id: 'work', command: 'echo again' })).isError,
      30_000,
      250,
    );
    expect(b.output()).toMatch(/Session work: adopted from the replica pod-a@\d+, which is gone/);
    expect(b.output()).toContain(`Took over pod ${used}`);
    expect(await computerOf(onB, 'work')).toBe(used);
    expect(await claimHolder(used)).toMatch(/^pod-b@\d+$/);
    // pod-b reached the desktop with the key pod-a gave it, read from the pod.
    const auths = peer.requests.filter((r) => r.command === 'authenticate');
    expect(auths[auths.length - 1].params?.api_key).toBe(keyOf(fake.pods(NS).find((p) => p.metadata.name === used)));

    // pod-a's warm pod has nobody: pod-b's orphan sweep deletes it, once. The session's pod stays.
    await waitFor('the orphaned warm pod to be deleted', () => deletesOf(spare).length === 1, 15_000);
    expect(b.output()).toMatch(new RegExp(`Deleting pod ${spare}: the replica that made it \\(pod-a@\\d+\\) is gone, and no session holds it`));
    expect(await claimHolder(spare)).toBeNull();
    expect(deletesOf(used)).toEqual([]);
    expect(created()).toHaveLength(2); // no new pod

    expect((await call(onB, 'cleanup_session', { session_id: 'work' })).isError).toBeFalsy();
    await waitFor('the session pod to be gone', () => !fake.pods(NS).some((p) => p.metadata.name === used));
    expect(deletesOf(used)).toHaveLength(1);
    expect(await claimHolder(used)).toBeNull();
    expect(fake.deletes).toHaveLength(2);
  });

  it('a clean SIGTERM hands the session over: its pod stays, and the other replica carries it on', async () => {
    const a = await replica('pod-a');
    const b = await replica('pod-b');
    const onA = await client(a);
    expect((await call(onA, 'run_command', { session_id: 'carry', command: 'echo hi' })).isError).toBeFalsy();
    const [pod] = created().map((c) => c.name);
    expect(await computerOf(onA, 'carry')).toBe(pod);
    await keptBy(b, 1);

    await a.stop(15_000);
    expect(a.output()).toMatch(/Session carry handed over: its computer stays for the next replica it reaches/);
    expect(a.output()).toContain(`Let go of pod ${pod} as it is`);
    expect(fake.deletes).toEqual([]);

    const onB = await client(b);
    expect((await call(onB, 'run_command', { session_id: 'carry', command: 'echo again' })).isError).toBeFalsy();
    expect(b.output()).toMatch(/Session carry: adopted from the replica pod-a@\d+/);
    expect(await computerOf(onB, 'carry')).toBe(pod);
    expect(created()).toHaveLength(1);

    expect((await call(onB, 'cleanup_session', { session_id: 'carry' })).isError).toBeFalsy();
    await waitFor('the pod to be gone', () => !fake.pods(NS).some((p) => p.metadata.name === pod));
    expect(deletesOf(pod)).toHaveLength(1);
    expect(fake.deletes).toHaveLength(1);
  });

  it('a session record naming anything but a ready desktop of this release in this namespace is refused, and nothing is connected to', async () => {
    // A pod in the namespace that is not a desktop of this release (another release's, say), ready at 127.0.0.1.
    fake.add('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'not-ours', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'cua-mcp-server', 'app.kubernetes.io/component': 'desktop', 'app.kubernetes.io/instance': 'other' } }, spec: { containers: [] }, status: { phase: 'Pending' } });
    const b = await replica('pod-b');
    const onB = await client(b);
    const plant = async (id: string, computer: string) => {
      await admin.hSet(`cua:{r}:s:anonymous:${id}`, {
        id, principal: 'anonymous', kind: 'named', createdAt: '1', lastActivityAt: String(Date.now()), idleTimeoutMs: '600000', owner: 'pod-x@999', computer,
      });
      await admin.zAdd('cua:{r}:sessions', { score: Date.now() + 600_000, value: `anonymous:${id}` });
      await admin.sAdd('cua:{r}:p:anonymous', `anonymous:${id}`);
    };
    await plant('elsewhere', 'kubernetes:kube-system/pod/coredns');
    await plant('foreign', `kubernetes:${NS}/pod/not-ours`);
    await plant('gone', `kubernetes:${NS}/pod/it-desktop-gone1`);
    const before = peer.connections;

    const r1 = await call(onB, 'screenshot_cua', { session_id: 'elsewhere' });
    expect(textOf(r1)).toMatch(/COMPUTER_FAILED.*\(kubernetes:kube-system\/pod\/coredns\) is not a desktop pod in namespace desktops here; it cannot be taken over/);
    const r2 = await call(onB, 'screenshot_cua', { session_id: 'foreign' });
    expect(textOf(r2)).toMatch(/COMPUTER_FAILED.*desktop pod not-ours is not a desktop of release it; it is not taken over/);
    const r3 = await call(onB, 'screenshot_cua', { session_id: 'gone' });
    expect(textOf(r3)).toMatch(/COMPUTER_FAILED.*desktop pod it-desktop-gone1 no longer exists/);
    expect(peer.connections).toBe(before);
    expect(fake.requests.some((q) => q.path.includes('/namespaces/kube-system/'))).toBe(false);
    expect(fake.deletes).toEqual([]);
  });
});
