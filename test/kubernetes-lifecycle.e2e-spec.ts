import sharp from 'sharp';
import { call, imagesOf, textOf } from './support/app';
import { FakeCuaPeer } from './support/fake-cua-peer';
import { waitFor } from './support/wait-for';
import { KubeHarness, NS, startKubeHarness } from './support/kubernetes-server';

/**
 * The life of a Kubernetes desktop, end to end: the built server against a FAKE Kubernetes API
 * (test/support/fake-kubernetes.ts) whose pods report podIP 127.0.0.1, and a FAKE cua
 * computer-server peer (test/support/fake-cua-peer.ts) on KUBERNETES_DESKTOP_PORT standing in
 * for the desktops. test/kubernetes-desktop.e2e-spec.ts does the same with a real desktop.
 */
describe('Kubernetes desktop lifecycle (built server, fake Kubernetes API, fake desktop peer)', () => {
  let h: KubeHarness | undefined;
  let peer: FakeCuaPeer;
  let png: string;

  beforeAll(async () => {
    png = (await sharp({ create: { width: 640, height: 400, channels: 3, background: { r: 20, g: 120, b: 200 } } }).png().toBuffer()).toString('base64');
  });
  beforeEach(async () => {
    peer = await FakeCuaPeer.start();
    peer.handler = (req) => (req.command === 'screenshot' ? { reply: { success: true, image_data: png } } : undefined);
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await peer.close();
  });

  const start = (env: Record<string, string> = {}) => startKubeHarness({ KUBERNETES_DESKTOP_PORT: new URL(peer.url).port, ...env });
  const podsCreated = () => h!.fake.created.filter((c) => c.kind === 'pods');
  const readyEach = (names: Set<string>) => {
    for (const c of podsCreated()) {
      if (names.has(c.name)) continue;
      names.add(c.name);
      h!.fake.podReady(NS, c.name);
    }
  };

  it('a pod that becomes Ready (watch event) is connected to, with its own API key; the session sees its screen', async () => {
    h = await start();
    const client = await h.client();
    const shot = call(client, 'screenshot_cua', { session_id: 'one' });
    const created = await waitFor('a desktop pod', () => podsCreated()[0]);
    expect(peer.connections).toBe(0); // nothing is reached before the pod is Ready
    h.fake.podReady(NS, created.name);
    const r = await shot;
    expect(r.isError).toBeFalsy();
    expect(imagesOf(r)).toHaveLength(1);
    expect(textOf(r)).toMatch(/640x400/);
    const key = created.body.spec.containers[0].env.find((e: { name: string }) => e.name === 'COMPUTER_SERVER_API_KEY')?.value;
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const auth = peer.requests.find((q) => q.command === 'authenticate');
    expect(auth?.params?.api_key).toBe(key);
    expect(h.server.output()).not.toContain(key);
    expect(await h.metric('cua_pool_leases_total', { start: 'cold' })).toBe(1);
  }, 40_000);

  it('the warm pool keeps POOL_MIN_WARM pods ready: a new session claims one (warm) and a replacement is started', async () => {
    h = await start({ POOL_MIN_WARM: '1' });
    const ready = new Set<string>();
    const first = await waitFor('the warm pod', () => podsCreated()[0]);
    readyEach(ready);
    await waitFor('the pod to be connected', () => peer.connections === 1);
    const client = await h.client();
    const r = await call(client, 'screenshot_cua', { session_id: 'warm' });
    expect(r.isError).toBeFalsy();
    expect(await h.metric('cua_pool_leases_total', { start: 'warm' })).toBe(1);
    expect(await h.metric('cua_pool_leases_total', { start: 'cold' })).toBe(0);
    const stats = JSON.parse(textOf(await call(client, 'get_session_stats'))) as { sessions: { session_id: string; computer?: { id: string } }[] };
    expect(JSON.stringify(stats)).toContain(first.name);
    await waitFor('a replacement pod', () => podsCreated().length === 2);
  }, 40_000);

  it('a pod deleted under a running session: that session gets a clear error, then a fresh desktop; the pod is not deleted twice', async () => {
    h = await start();
    const ready = new Set<string>();
    const client = await h.client();
    const pending = call(client, 'screenshot_cua', { session_id: 'victim' });
    await waitFor('a desktop pod', () => podsCreated()[0]);
    readyEach(ready);
    expect((await pending).isError).toBeFalsy();
    const victim = podsCreated()[0].name;
    h.fake.removeExternally('pods', NS, victim);
    await waitFor('the server to notice', () => h!.server.output().includes(`Desktop pod ${victim} was deleted while in use`));
    const r = await call(client, 'screenshot_cua', { session_id: 'victim' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(new RegExp(`COMPUTER_FAILED.*The desktop pod ${victim} was deleted; this session's computer is gone, and the next call starts a fresh one`));
    const again = call(client, 'screenshot_cua', { session_id: 'victim' });
    await waitFor('a fresh pod', () => podsCreated().length === 2);
    readyEach(ready);
    expect((await again).isError).toBeFalsy();
    expect(h.fake.deletes.filter((d) => d.name === victim)).toEqual([]);
    expect(await h.metric('cua_desktop_pod_failures_total', { reason: 'Deleted' })).toBe(1);
  }, 40_000);

  it('a dropped watch resumes from the last resourceVersion (no new list); after 410 Gone it lists again', async () => {
    h = await start();
    const ready = new Set<string>();
    const client = await h.client();
    const pending = call(client, 'screenshot_cua', { session_id: 'w' });
    await waitFor('a desktop pod', () => podsCreated()[0]);
    readyEach(ready);
    expect((await pending).isError).toBeFalsy();
    const listCount = () => h!.fake.requests.filter((q) => q.method === 'GET' && q.path === `/api/v1/namespaces/${NS}/pods` && q.query.watch !== 'true').length;
    expect(listCount()).toBe(1);

    // 1. The stream drops; what happened meanwhile arrives on the resumed stream.
    await h.fake.bookmark();
    const before = h.fake.watchRequests('pods').length;
    h.fake.dropWatches();
    const victim = podsCreated()[0].name;
    h.fake.removeExternally('pods', NS, victim);
    await waitFor('the watch to be resumed', () => h!.fake.watchRequests('pods').length > before);
    const resumed = h.fake.watchRequests('pods')[before];
    const lastSeen = Number(h.fake.watchRequests('pods')[before - 1].query.resourceVersion);
    expect(Number(resumed.query.resourceVersion)).toBeGreaterThan(lastSeen); // it moved on with events and the bookmark
    expect(listCount()).toBe(1);
    await waitFor('the deletion to be seen', () => h!.server.output().includes(`Desktop pod ${victim} was deleted while in use`));

    // 2. History is compacted while the stream is down: the resume gets 410 Gone, so it lists again.
    const second = call(client, 'screenshot_cua', { session_id: 'w2' });
    await waitFor('a second pod', () => podsCreated().length === 2);
    readyEach(ready);
    expect((await second).isError).toBeFalsy();
    h.fake.watchesDown = true;
    h.fake.dropWatches();
    const other = podsCreated()[1].name;
    h.fake.removeExternally('pods', NS, other);
    await waitFor('the pod to be gone', () => !h!.fake.pods(NS).some((p) => p.metadata.name === other));
    h.fake.compact();
    h.fake.watchesDown = false;
    await waitFor('a second list', () => listCount() === 2);
    expect(h.server.output()).toMatch(/too old \(410 Gone\); listing again/);
    await waitFor('the deletion to be seen after the relist', () => h!.server.output().includes(`Desktop pod ${other} was deleted while in use`));
  }, 60_000);

  it('shutdown deletes every desktop pod of ours exactly once: leased, in stock and still starting', async () => {
    h = await start({ POOL_MIN_WARM: '2', POOL_MAX_SIZE: '4', SHUTDOWN_GRACE_MS: '500' });
    const ready = new Set<string>();
    await waitFor('two warm pods', () => podsCreated().length === 2);
    readyEach(ready);
    const client = await h.client();
    expect((await call(client, 'screenshot_cua', { session_id: 'held' })).isError).toBeFalsy();
    await waitFor('stock to be refilled', () => podsCreated().length === 3); // left starting, never Ready
    const ours = podsCreated().map((c) => c.name);
    const t0 = Date.now();
    h.server.proc.kill('SIGTERM');
    const { code } = await h.server.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    for (const name of ours) expect(h.fake.deletes.filter((d) => d.name === name)).toHaveLength(1);
    expect(h.fake.deletes).toHaveLength(ours.length);
    expect(h.fake.deletes.every((d) => d.gracePeriodSeconds === 5)).toBe(true);
  }, 60_000);
});
