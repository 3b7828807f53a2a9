import type { KubernetesObject } from '@kubernetes/client-node';
import { InMemoryComputerClaims, InMemoryReplicaDirectory, ownerToken } from '../../cluster/cluster.module';
import { DesktopFleet, type FleetSharing } from './desktop-fleet';
import { ANNOTATION, desktopLabels, type DesktopOwner, releaseSelector } from './desktop-labels';
import { podState } from './desktop-state';
import type { DesktopResource } from './kubernetes-api';

type Pod = KubernetesObject & { status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] } };

/**
 * A FAKE pods resource: objects in a map, a list by label selector, a watch that hears every change (selector not
 * applied), and a record of deletes. Deletion is immediate (no grace period).
 */
class FakePods implements DesktopResource<Pod> {
  readonly noun = 'pod';
  readonly objects = new Map<string, Pod>();
  readonly deletes: string[] = [];
  /** Set: a new pod turns Ready this many ms after it is created, by itself (the kubelet). */
  readyAfterMs?: number;
  private listener?: (type: string, object: unknown) => void;
  private n = 0;

  put(pod: Pod, type: 'ADDED' | 'MODIFIED' = 'ADDED') {
    this.objects.set(pod.metadata!.name!, pod);
    this.listener?.(type, pod);
  }
  async create(body: Pod): Promise<Pod> {
    const pod = { ...body, metadata: { ...body.metadata, name: `${body.metadata?.generateName ?? 'p-'}${++this.n}` } };
    this.put(pod);
    if (this.readyAfterMs !== undefined) setTimeout(() => this.put({ ...pod, status: ready }, 'MODIFIED'), this.readyAfterMs);
    return pod;
  }
  async get(name: string) {
    return this.objects.get(name);
  }
  async list(selector: string) {
    const want = selector.split(',').map((p) => p.split('='));
    return { items: [...this.objects.values()].filter((o) => want.every(([k, v]) => o.metadata?.labels?.[k] === v)), resourceVersion: '1' };
  }
  async remove(name: string) {
    this.deletes.push(name);
    const pod = this.objects.get(name);
    if (!pod) return false;
    this.objects.delete(name);
    this.listener?.('DELETED', pod);
    return true;
  }
  async watch(_selector: string, _rv: string, onEvent: (type: string, object: unknown) => void, onDone: (error?: unknown) => void) {
    this.listener = onEvent;
    return () => onDone();
  }
}

const release = 'prod';
const ready = { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] };
const desktop = (name: string, maker?: string, labels: Record<string, string> = desktopLabels({ release, server: 'srv' })): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels, ...(maker ? { annotations: { [ANNOTATION.maker]: maker } } : {}) },
  status: ready,
});

describe(DesktopFleet.name, () => {
  let pods: FakePods;
  let directory: InMemoryReplicaDirectory;
  /** Handles a session's record names (what makes ComputerClaims.take refuse a gone holder's desktop). */
  let named: Set<string>;
  let claims: InMemoryComputerClaims;
  let self: string;
  let other: string;
  let sut: DesktopFleet<Pod>;

  const handle = (name: string) => `kubernetes:desk/pod/${name}`;

  beforeEach(async () => {
    pods = new FakePods();
    directory = new InMemoryReplicaDirectory();
    named = new Set();
    claims = new InMemoryComputerClaims(directory, (h) => named.has(h));
    const a = await directory.join({ id: 'pod-a', startedAt: 0, version: 'x' }, 60_000);
    const b = await directory.join({ id: 'pod-b', startedAt: 0, version: 'x' }, 60_000);
    self = ownerToken(a.id, a.epoch);
    other = ownerToken(b.id, b.epoch);
  });
  afterEach(async () => {
    await sut?.stop();
  });

  /** How long a claim takes to be taken (Redis answering slowly). */
  let takeDelayMs = 0;

  function fleet(): DesktopFleet<Pod> {
    const sharing: FleetSharing = {
      holder: async () => self,
      take: async (name, holder) => {
        if (takeDelayMs) await new Promise((r) => setTimeout(r, takeDelayMs));
        return claims.take(handle(name), holder);
      },
      adopt: (name, holder) => claims.adopt(handle(name), holder),
      release: (name, holder) => claims.release(handle(name), holder),
      alive: async () => new Set((await directory.list()).map((r) => ownerToken(r.id, r.epoch))),
      sweepEveryMs: 3_600_000,
    };
    const owner: DesktopOwner = { release, server: 'pod-a', shared: {} };
    sut = new DesktopFleet<Pod>({
      resource: pods,
      selector: releaseSelector(release),
      owner,
      build: (maker) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'prod-desktop-', labels: desktopLabels(owner), annotations: { [ANNOTATION.maker]: maker ?? '' } } }),
      stateOf: (p) => podState(p),
      readyTimeoutMs: 5_000,
      deleteGraceSeconds: 0,
      goneTimeoutMs: 1_000,
      findServerPod: () => Promise.reject(new Error('unexpected: no owner pods in shared mode')),
      sharing,
    });
    return sut;
  }

  it('a desktop it makes names this replica and is claimed right after it is created; its release deletes it, then frees the claim', async () => {
    await fleet().start();
    const made = sut.provision();
    await new Promise((r) => setImmediate(r));
    const [name] = [...pods.objects.keys()];
    expect(pods.objects.get(name)!.metadata!.annotations).toEqual({ [ANNOTATION.maker]: self });
    expect(await claims.get(handle(name))).toEqual({ holder: self });
    pods.put({ ...pods.objects.get(name)!, status: ready }, 'MODIFIED');
    expect((await made).ip).toBe('127.0.0.1');
    await sut.release(name);
    expect(pods.deletes).toEqual([name]);
    expect(await claims.get(handle(name))).toBeUndefined();
  });

  it('a desktop that turns ready while its claim is still being taken is handed out, claimed', async () => {
    takeDelayMs = 100;
    pods.readyAfterMs = 10;
    await fleet().start();
    const d = await sut.provision();
    expect(d.ip).toBe('127.0.0.1');
    expect(await claims.get(handle(d.name))).toEqual({ holder: self });
    takeDelayMs = 0;
  });

  it('the orphan sweep deletes only what a gone replica left with no session on it: never a live replica’s, a held one, or one a session waits for', async () => {
    const gone = 'pod-x@1';
    pods.put(desktop('stock-of-gone', gone)); // a dead replica's warm stock: claimed by it, named by nobody
    await claims.take(handle('stock-of-gone'), gone);
    pods.put(desktop('unclaimed-of-gone', gone)); // it died between create and claim
    pods.put(desktop('being-made', other)); // a live replica is creating it: not claimed yet
    pods.put(desktop('adopted', gone)); // another live replica took its session over
    await claims.adopt(handle('adopted'), other);
    pods.put(desktop('awaiting', gone)); // its session waits to be taken over
    await claims.take(handle('awaiting'), gone);
    named.add(handle('awaiting'));
    pods.put(desktop('no-registry')); // made by a server without a shared registry
    await fleet().start();

    expect((await sut.sweepOrphans()).sort()).toEqual(['stock-of-gone', 'unclaimed-of-gone']);
    expect(pods.deletes.sort()).toEqual(['stock-of-gone', 'unclaimed-of-gone']);
    expect(await claims.get(handle('stock-of-gone'))).toBeUndefined();
    expect(await claims.get(handle('unclaimed-of-gone'))).toBeUndefined();
    expect(await claims.get(handle('adopted'))).toEqual({ holder: other });

    // Once the replica that held it is gone too, and no session waits for it, it goes.
    await directory.leave('pod-b', Number(other.split('@')[1]));
    expect((await sut.sweepOrphans()).sort()).toEqual(['adopted', 'being-made']);
    expect(pods.objects.has('awaiting')).toBe(true);
    expect(pods.objects.has('no-registry')).toBe(true);
  });

  it('takes over a ready desktop of the release (claimed, tracked: the sweep passes it by), and lets go of it without deleting it', async () => {
    const gone = 'pod-x@1';
    pods.put(desktop('session-desk', gone));
    await claims.take(handle('session-desk'), gone);
    named.add(handle('session-desk'));
    await fleet().start();
    const d = await sut.adopt('session-desk');
    expect(d).toMatchObject({ name: 'session-desk', ip: '127.0.0.1' });
    expect(await claims.get(handle('session-desk'))).toEqual({ holder: self });
    named.delete(handle('session-desk'));
    expect(await sut.sweepOrphans()).toEqual([]);
    expect(sut.names()).toEqual(['session-desk']);

    sut.detach('session-desk');
    expect(sut.names()).toEqual([]);
    await sut.stop();
    expect(pods.deletes).toEqual([]);
    expect(await claims.get(handle('session-desk'))).toEqual({ holder: self });
  });

  it('refuses to take over what is not a ready desktop of the release, or what a live replica holds', async () => {
    pods.put(desktop('foreign', 'pod-x@1', { ...desktopLabels({ release: 'other', server: 'srv' }) }));
    pods.put({ ...desktop('starting', other), status: { phase: 'Pending' } });
    pods.put(desktop('held', 'pod-x@1'));
    await claims.take(handle('held'), other);
    await fleet().start();
    await expect(sut.adopt('missing')).rejects.toThrow(/desktop pod missing no longer exists/);
    await expect(sut.adopt('foreign')).rejects.toThrow(/not a desktop of release prod/);
    await expect(sut.adopt('starting')).rejects.toThrow(/is starting \(Pending\); it cannot be taken over/);
    await expect(sut.adopt('held')).rejects.toThrow(new RegExp(`held by the replica ${other}`));
    expect(sut.names()).toEqual([]);
    expect(pods.deletes).toEqual([]);
  });
});
