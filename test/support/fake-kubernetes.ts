import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Obj = any;

/** A kind of object the fake serves: core pods, or agent-sandbox SandboxClaims. */
type Kind = 'pods' | 'sandboxclaims';

interface Stored {
  kind: Kind;
  namespace: string;
  obj: Obj;
}

interface WatchEvent {
  rv: number;
  kind: Kind;
  namespace: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: Obj;
}

interface OpenWatch {
  kind: Kind;
  namespace: string;
  selector: Record<string, string>;
  res: ServerResponse;
  socket: Socket;
  /** The resourceVersion the client asked to start from. */
  from: string;
}

export interface Request {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: Obj;
}

/**
 * A FAKE Kubernetes API server for the kubernetes provider's tests: a local HTTP server that
 * serves what @kubernetes/client-node asks for — pods and SandboxClaims (create with
 * generateName, get, list with label selectors, watch streams from a resourceVersion with
 * bookmarks and 410 Gone, delete with a grace period), the discovery document of the
 * agent-sandbox group, and GET of the Deployments the test puts in place — and lets the test
 * drive pods (phases, conditions, IPs) and claims.
 * Every request is recorded. No real cluster semantics beyond that (no scheduler, no kubelet).
 */
export class FakeKubernetes {
  private server!: Server;
  private rv = 100;
  /** Events at or below this resourceVersion are compacted: a watch from before it gets 410 Gone. */
  private compactedThrough = 0;
  private readonly objects = new Map<string, Stored>();
  /** Deployments by namespace/name (only read: the server looks up the one that owns its desktops). */
  private readonly deployments = new Map<string, Obj>();
  private readonly history: WatchEvent[] = [];
  private readonly watches = new Set<OpenWatch>();
  readonly requests: Request[] = [];
  /** Objects as the client sent them on create. */
  readonly created: { kind: Kind; body: Obj; name: string }[] = [];
  /** Every DELETE the client sent. */
  readonly deletes: { kind: Kind; name: string; gracePeriodSeconds?: number; propagationPolicy?: string }[] = [];
  /** SandboxClaim versions served (discovery). Empty: agent-sandbox not installed. */
  sandboxVersions: string[] = [];
  /** How a resumed watch from a compacted version is refused: an ERROR event (as real servers do) or HTTP 410. */
  goneAs: 'event' | 'status' = 'event';
  /** How long a deleted object lingers with a deletionTimestamp before it is gone (its grace period, shortened). */
  terminateMs = 50;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop() {
    for (const w of this.watches) w.socket.destroy();
    this.watches.clear();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** A kubeconfig that points at this server (with a token, as a service account would). */
  writeKubeconfig(dir: string): string {
    const file = join(dir, 'kubeconfig.json');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      // client-node refuses plain http unless TLS verification is off (there is no TLS to verify).
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'fake-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: 'desktops' } }],
      'current-context': 'fake',
    };
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  // --- what the test sees and drives ---

  pods(namespace?: string): Obj[] {
    return this.list('pods', namespace);
  }

  claims(namespace?: string): Obj[] {
    return this.list('sandboxclaims', namespace);
  }

  /** Puts an object in place as if someone else had made it (e.g. left by a crashed server). */
  add(kind: Kind, obj: Obj): Obj {
    const stored = { ...obj, metadata: { ...obj.metadata, uid: obj.metadata?.uid ?? randomUUID(), creationTimestamp: new Date().toISOString() } };
    this.put(kind, stored.metadata.namespace, stored, 'ADDED');
    return stored;
  }

  /** Puts a Deployment in place (as the chart's would be); returns its uid. */
  addDeployment(namespace: string, name: string): string {
    const uid = randomUUID();
    this.deployments.set(`${namespace}/${name}`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, uid, resourceVersion: String(++this.rv) }, spec: {} });
    return uid;
  }

  /** Sets a pod's (or claim's) status, as the kubelet (or a controller) would. */
  setStatus(kind: Kind, namespace: string, name: string, status: Obj) {
    const s = this.objects.get(key(kind, namespace, name));
    if (!s) throw new Error(`no ${kind} ${namespace}/${name}`);
    this.put(kind, namespace, { ...s.obj, status }, 'MODIFIED');
  }

  podReady(namespace: string, name: string, podIP = '127.0.0.1') {
    this.setStatus('pods', namespace, name, {
      phase: 'Running',
      podIP,
      podIPs: [{ ip: podIP }],
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      containerStatuses: [{ name: 'desktop', ready: true, restartCount: 0, image: 'x', imageID: 'x', state: { running: { startedAt: new Date().toISOString() } } }],
    });
  }

  podWaiting(namespace: string, name: string, reason: string, message: string) {
    this.setStatus('pods', namespace, name, {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True' }],
      containerStatuses: [{ name: 'desktop', ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason, message } } }],
    });
  }

  podUnschedulable(namespace: string, name: string) {
    this.setStatus('pods', namespace, name, {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }],
    });
  }

  /** Deletes an object as someone else would (kubectl delete, eviction): terminating, then gone. */
  removeExternally(kind: Kind, namespace: string, name: string) {
    this.beginDelete(kind, namespace, name);
  }

  /**
   * Sends a BOOKMARK with the current resourceVersion on every open watch; resolves once each is
   * written to its socket, so a stream cut after that still delivers it first.
   */
  async bookmark(): Promise<void> {
    const bookmark = (w: OpenWatch) => ({ type: 'BOOKMARK', object: { kind: w.kind === 'pods' ? 'Pod' : 'SandboxClaim', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
    await Promise.all([...this.watches].map((w) => new Promise<void>((written) => this.send(w, bookmark(w), written))));
  }

  /** Cuts every open watch stream (as a proxy timeout or an API server restart would). */
  dropWatches() {
    for (const w of this.watches) w.socket.destroy();
    this.watches.clear();
  }

  /** While true, new watch requests are refused with 503 (an API server restarting). */
  watchesDown = false;

  /** Forgets history up to now: a watch resumed from an older resourceVersion gets 410 Gone. */
  compact() {
    this.compactedThrough = this.rv;
    this.history.length = 0;
  }

  openWatches(kind: Kind): OpenWatch[] {
    return [...this.watches].filter((w) => w.kind === kind);
  }

  watchRequests(kind: Kind): Request[] {
    return this.requests.filter((r) => r.method === 'GET' && r.query.watch === 'true' && r.path.endsWith(`/${kind}`));
  }

  // --- the API ---

  private list(kind: Kind, namespace?: string): Obj[] {
    return [...this.objects.values()].filter((s) => s.kind === kind && (!namespace || s.namespace === namespace)).map((s) => s.obj);
  }

  private put(kind: Kind, namespace: string, obj: Obj, type: WatchEvent['type']): Obj {
    const rv = ++this.rv;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    if (type === 'DELETED') this.objects.delete(key(kind, namespace, stored.metadata.name));
    else this.objects.set(key(kind, namespace, stored.metadata.name), { kind, namespace, obj: stored });
    const event: WatchEvent = { rv, kind, namespace, type, obj: stored };
    this.history.push(event);
    for (const w of this.watches) if (w.kind === kind && w.namespace === namespace && matches(stored, w.selector)) this.send(w, { type, object: stored });
    return stored;
  }

  private beginDelete(kind: Kind, namespace: string, name: string): Obj {
    const s = this.objects.get(key(kind, namespace, name));
    if (!s) return undefined;
    if (s.obj.metadata.deletionTimestamp) return s.obj;
    const terminating = this.put(kind, namespace, { ...s.obj, metadata: { ...s.obj.metadata, deletionTimestamp: new Date().toISOString() } }, 'MODIFIED');
    setTimeout(() => {
      const still = this.objects.get(key(kind, namespace, name));
      if (still) this.put(kind, namespace, still.obj, 'DELETED');
    }, this.terminateMs).unref();
    return terminating;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    let body: Obj;
    if (req.method === 'POST' || req.method === 'DELETE' || req.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString();
      body = text ? JSON.parse(text) : undefined;
    }
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query, body });
    if (req.headers.authorization !== 'Bearer fake-token') return status(res, 401, 'Unauthorized', 'Unauthorized');

    const discovery = /^\/apis\/extensions\.agents\.x-k8s\.io\/(v1alpha1|v1beta1)$/.exec(url.pathname);
    if (discovery && req.method === 'GET') {
      if (!this.sandboxVersions.includes(discovery[1])) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return json(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: `extensions.agents.x-k8s.io/${discovery[1]}`,
        resources: [
          { name: 'sandboxclaims', singularName: 'sandboxclaim', namespaced: true, kind: 'SandboxClaim', verbs: ['create', 'delete', 'get', 'list', 'watch'] },
          { name: 'sandboxtemplates', singularName: 'sandboxtemplate', namespaced: true, kind: 'SandboxTemplate', verbs: ['get', 'list'] },
          { name: 'sandboxwarmpools', singularName: 'sandboxwarmpool', namespaced: true, kind: 'SandboxWarmPool', verbs: ['get', 'list'] },
        ],
      });
    }
    const deployment = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(url.pathname);
    if (deployment && req.method === 'GET') {
      const d = this.deployments.get(`${deployment[1]}/${deployment[2]}`);
      return d ? json(res, 200, d) : status(res, 404, 'NotFound', `deployments.apps "${deployment[2]}" not found`);
    }
    const m =
      /^\/api\/v1\/namespaces\/([^/]+)\/(pods)(?:\/([^/]+))?$/.exec(url.pathname) ??
      /^\/apis\/extensions\.agents\.x-k8s\.io\/(?:v1alpha1|v1beta1)\/namespaces\/([^/]+)\/(sandboxclaims)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const [, namespace, kindText, name] = m;
    const kind = kindText as Kind;
    if (kind === 'sandboxclaims' && !this.sandboxVersions.some((v) => url.pathname.includes(`/${v}/`))) return status(res, 404, 'NotFound', 'the server could not find the requested resource');

    if (req.method === 'GET' && !name && query.watch === 'true') return this.watch(kind, namespace, query, req, res);
    if (req.method === 'GET' && !name) {
      const selector = parseSelector(query.labelSelector);
      const items = this.list(kind, namespace).filter((o) => matches(o, selector));
      return json(res, 200, { kind: kind === 'pods' ? 'PodList' : 'SandboxClaimList', apiVersion: kind === 'pods' ? 'v1' : 'extensions.agents.x-k8s.io/v1beta1', metadata: { resourceVersion: String(this.rv) }, items });
    }
    if (req.method === 'GET' && name) {
      const s = this.objects.get(key(kind, namespace, name));
      return s ? json(res, 200, s.obj) : status(res, 404, 'NotFound', `${kind} "${name}" not found`);
    }
    if (req.method === 'POST' && !name) {
      const meta = body?.metadata ?? {};
      const objName = meta.name ?? `${meta.generateName ?? 'obj-'}${randomBytes(3).toString('hex').slice(0, 5)}`;
      if (this.objects.has(key(kind, namespace, objName))) return status(res, 409, 'AlreadyExists', `${kind} "${objName}" already exists`);
      this.created.push({ kind, body, name: objName });
      const obj = {
        ...body,
        metadata: { ...meta, name: objName, namespace, uid: randomUUID(), creationTimestamp: new Date().toISOString() },
        status: kind === 'pods' ? { phase: 'Pending' } : {},
      };
      const stored = this.put(kind, namespace, obj, 'ADDED');
      return json(res, 201, stored);
    }
    if (req.method === 'DELETE' && name) {
      const grace = query.gracePeriodSeconds ?? body?.gracePeriodSeconds;
      this.deletes.push({ kind, name, gracePeriodSeconds: grace === undefined ? undefined : Number(grace), propagationPolicy: query.propagationPolicy ?? body?.propagationPolicy });
      const obj = this.beginDelete(kind, namespace, name);
      return obj ? json(res, 200, obj) : status(res, 404, 'NotFound', `${kind} "${name}" not found`);
    }
    return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }

  private watch(kind: Kind, namespace: string, query: Record<string, string>, req: IncomingMessage, res: ServerResponse) {
    if (this.watchesDown) return status(res, 503, 'ServiceUnavailable', 'the API server is restarting');
    const from = query.resourceVersion ?? '';
    const fromRv = Number(from || this.rv);
    if (from && fromRv < this.compactedThrough) {
      const gone = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.compactedThrough})`, reason: 'Expired', code: 410 };
      if (this.goneAs === 'status') return json(res, 410, gone);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.write(JSON.stringify({ type: 'ERROR', object: gone }) + '\n');
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // As a real API server does: the stream's headers go at once, not with its first event (a client waiting for
    // them could not stop its watch before anything happened).
    res.flushHeaders();
    const w: OpenWatch = { kind, namespace, selector: parseSelector(query.labelSelector), res, socket: req.socket, from };
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
    for (const e of this.history) {
      if (e.rv > fromRv && e.kind === kind && e.namespace === namespace && matches(e.obj, w.selector)) this.send(w, { type: e.type, object: e.obj });
    }
    const timeoutSeconds = Number(query.timeoutSeconds);
    if (timeoutSeconds > 0) {
      const t = setTimeout(() => res.end(), timeoutSeconds * 1000);
      t.unref();
      res.on('close', () => clearTimeout(t));
    }
  }

  private send(w: OpenWatch, event: Obj, written?: () => void) {
    if (w.res.writableEnded) written?.();
    else w.res.write(JSON.stringify(event) + '\n', () => written?.());
  }
}

function key(kind: Kind, namespace: string, name: string) {
  return `${kind}/${namespace}/${name}`;
}

function parseSelector(text?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    out[k.trim()] = (v ?? '').trim();
  }
  return out;
}

function matches(obj: Obj, selector: Record<string, string>) {
  const labels = obj?.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function json(res: ServerResponse, code: number, body: Obj) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string) {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
