import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { EventEmitter } from 'node:events';
import { abortReason, DomainError, DomainErrorCode, errorMessage } from '../../common/domain-error';
import { packageVersion } from '../../common/version';
import { InjectSettings } from '../../config/config.module';
import { KUBERNETES_SETTINGS, type KubernetesSettings } from './kubernetes.settings';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../computer.settings';
import { POOL_SETTINGS, type PoolSettings } from '../../pool/pool.settings';
import { CUA_SETTINGS, type CuaSettings } from '../cua/cua.settings';
import { CLUSTER_SETTINGS, type ClusterSettings } from '../../cluster/cluster.settings';
import { ComputerClaims, ownerToken, ReplicaDirectory, SessionRegistry, ThisReplica } from '../../cluster/cluster.module';
import { Computer, ComputerProvider, CreateComputerOptions } from '../computer.port';
import { RegisterComputerProvider } from '../computer-provider.registry';
import { DesktopConnector } from './desktop-connector';
import { DesktopFleet, type DesktopFleetEvents, type FleetSharing, type ReadyDesktop } from './desktop-fleet';
import { desktopHandle, DesktopOwner, type OwnerObject, parseDesktopHandle, releaseSelector, toLabelValue } from './desktop-labels';
import { claimState, podState } from './desktop-state';
import { KubernetesApi, apiErrorMessage } from './kubernetes-api';
import { KubernetesComputer } from './kubernetes-computer';
import { buildDesktopPod, desktopApiKey } from './pod-manifest';
import { buildSandboxClaim, chooseClaimVersion } from './sandbox-claim';

/** Time limit of one request to a desktop's computer-server (connecting, one action); run_command adds its own limit. */
const REQUEST_TIMEOUT_MS = 15_000;

/** The orphan sweep of shared mode runs every REPLICA_LEASE_MS, within these bounds. */
const SWEEP_MIN_MS = 1_000;
const SWEEP_MAX_MS = 60_000;

/** The desktops' backend in use: our own pods, or agent-sandbox claims. */
export type KubernetesBackend = 'pods' | 'agent-sandbox';

/**
 * COMPUTER_PROVIDER=kubernetes: every computer is a desktop in the cluster — a pod of our own made
 * from KUBERNETES_POD_TEMPLATE, or a SandboxClaim of kubernetes-sigs/agent-sandbox — reached at
 * its pod IP with the cua computer-server protocol. The warm pool keeps POOL_MIN_WARM of them
 * ready, so a session start is a claim of a running desktop. Emits 'failure' (DesktopFailure)
 * for every desktop that failed or was lost, with a bounded `reason`.
 *
 * With a shared session registry (REDIS_URL) a desktop outlives the server pod that made it: it is owned by the
 * server's Deployment (KUBERNETES_OWNER_DEPLOYMENT) instead of the pod, carries the owner token of the replica that
 * made it, and is claimed in ComputerClaims (handle `kubernetes:<namespace>/<kind>/<name>`). A session's record
 * names it (handleOf), so that when this replica goes, the next replica a call reaches adopts the session with its
 * desktop (adopt); a replica that stops cleanly lets go of it (detach) instead of deleting it. Desktops left by a
 * replica that is gone, with no session waiting for them, are deleted by any replica's orphan sweep.
 */
@Injectable()
@RegisterComputerProvider()
export class KubernetesComputerProvider extends ComputerProvider implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly name = 'kubernetes';
  private readonly logger = new Logger('KubernetesComputerProvider');
  private started?: Promise<DesktopFleet<KubernetesObject>>;
  private fleet?: DesktopFleet<KubernetesObject>;
  readonly events = new EventEmitter<DesktopFleetEvents>();
  /** The backend chosen at start (undefined before). */
  backend?: KubernetesBackend;

  constructor(
    @InjectSettings(KUBERNETES_SETTINGS) private readonly settings: KubernetesSettings,
    @InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
    @InjectSettings(POOL_SETTINGS) private readonly pool: PoolSettings,
    @InjectSettings(CUA_SETTINGS) private readonly cua: CuaSettings,
    @InjectSettings(CLUSTER_SETTINGS) private readonly cluster: ClusterSettings,
    private readonly connector: DesktopConnector,
    private readonly registry: SessionRegistry,
    private readonly claims: ComputerClaims,
    private readonly replicas: ReplicaDirectory,
    private readonly replica: ThisReplica,
  ) {
    super();
  }

  /** Shared mode: other replicas share the session registry (REDIS_URL), so desktops may outlive this one. */
  private get shared(): boolean {
    return this.registry.shared;
  }

  /** Shared mode: the handle a session record names the desktop by; undefined without a shared registry. */
  override handleOf(computer: Computer): string | undefined {
    if (!this.shared || !this.fleet || !(computer instanceof KubernetesComputer)) return undefined;
    return desktopHandle(this.settings.namespace, this.fleet.noun, computer.id);
  }

  /**
   * Shared mode: takes over the desktop of a session whose replica is gone. Only a handle naming an object of this
   * backend in KUBERNETES_NAMESPACE, of this release, that exists and is ready (see DesktopFleet.adopt); anything
   * else is refused with COMPUTER_FAILED and nothing is connected to.
   */
  override async adopt(handle: string, options: CreateComputerOptions): Promise<Computer> {
    const fleet = await this.start();
    const k = this.settings;
    const parsed = parseDesktopHandle(handle);
    if (!parsed || parsed.namespace !== k.namespace || parsed.kind !== fleet.noun.toLowerCase()) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `The session's computer (${handle}) is not a desktop ${fleet.noun} in namespace ${k.namespace} here; it cannot be taken over.`);
    }
    if (options.signal?.aborted) throw abortReason(options.signal, 'Taking over a desktop');
    const desktop = await fleet.adopt(parsed.name);
    return this.openDesktop(fleet, desktop, options.signal, 'taken over');
  }

  /** Connects to the cluster, picks the backend, cleans up what an earlier run left, starts watching. */
  override async checkReady(): Promise<void> {
    await this.start();
  }

  async create(options: CreateComputerOptions): Promise<KubernetesComputer> {
    const fleet = await this.start();
    const desktop = await fleet.provision(options.signal);
    return this.openDesktop(fleet, desktop, options.signal, 'ready');
  }

  /** Connects to a ready desktop (made here, or taken over); one that does not answer is deleted. */
  private async openDesktop(fleet: DesktopFleet<KubernetesObject>, desktop: ReadyDesktop, signal: AbortSignal | undefined, how: 'ready' | 'taken over'): Promise<KubernetesComputer> {
    const k = this.settings;
    const url = `http://${desktop.ip.includes(':') ? `[${desktop.ip}]` : desktop.ip}:${k.desktopPort}`;
    try {
      const c = this.computer;
      const apiKey = this.backend === 'pods' ? desktopApiKey(desktop.object) : undefined;
      const inner = await this.connector.connect(
        { url, ...(apiKey ? { apiKey } : {}) },
        {
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          signal,
          id: desktop.name,
          provider: this.name,
          commandTimeoutMs: c.commandTimeoutMs,
          commandOutputLimitBytes: c.commandOutputLimitBytes,
          settleDelayMs: this.cua.settleDelayMs,
        },
      );
      const computer = new KubernetesComputer(desktop.name, inner, () => fleet.release(desktop.name), this.shared ? () => fleet.detach(desktop.name) : undefined);
      fleet.onLost(desktop.name, (message) => computer.markLost(message));
      return computer;
    } catch (e) {
      this.events.emit('failure', { name: desktop.name, reason: 'ConnectFailed', message: errorMessage(e) });
      await fleet.release(desktop.name);
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Desktop ${fleet.noun} ${desktop.name} was ${how} but its computer-server at ${url} did not answer: ${errorMessage(e)}. It was deleted.`, { cause: e });
    }
  }

  /** Names of this server's desktops that exist now (tests, logs). */
  desktops(): string[] {
    return this.fleet?.names() ?? [];
  }

  /** Shutdown begins: desktops still starting are deleted at once rather than awaited (see DesktopFleet.stopStarting). */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    const fleet = await this.started.catch(() => undefined);
    await fleet?.stopStarting();
  }

  /** Deletes every desktop of this server still there (each once) and stops watching. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    const fleet = await this.started.catch(() => undefined);
    await fleet?.stop();
  }

  private start(): Promise<DesktopFleet<KubernetesObject>> {
    this.started ??= this.connect().then((fleet) => (this.fleet = fleet));
    return this.started;
  }

  private async connect(): Promise<DesktopFleet<KubernetesObject>> {
    const k = this.settings;
    let api: KubernetesApi;
    try {
      api = KubernetesApi.load();
    } catch (e) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `COMPUTER_PROVIDER=kubernetes cannot load its Kubernetes configuration: ${errorMessage(e)}. Set KUBECONFIG, or run in a pod with a service account.`, { cause: e });
    }
    const owner = await this.owner(api, k.namespace);
    const { backend, fleet } = await this.pickBackend(api, owner);
    this.backend = backend;
    fleet.events.on('failure', (f) => this.events.emit('failure', f));
    try {
      await fleet.start();
    } catch (e) {
      throw new DomainError(
        DomainErrorCode.COMPUTER_FAILED,
        `Cannot list desktop ${fleet.noun}s in namespace ${k.namespace} at ${api.server}: ${apiErrorMessage(e)}. Check the API address and that the service account may list, watch, create and delete them.`,
        { cause: e },
      );
    }
    return fleet;
  }

  /**
   * Who we are: the release, this server (its pod name, else the host name), and our pod, when known; in shared mode
   * also the Deployment that owns the desktops.
   */
  private async owner(api: KubernetesApi, namespace: string): Promise<DesktopOwner> {
    const k = this.settings;
    const { podName, podUid, podNamespace } = k.self;
    const pod = podName && podUid ? { name: podName, uid: podUid, namespace: podNamespace ?? namespace } : undefined;
    const server = toLabelValue(podName ?? hostname());
    if (this.shared) return { release: k.release, server, pod, shared: { deployment: await this.ownerDeployment(api, namespace) } };
    if (!pod && process.env.KUBERNETES_SERVICE_HOST) {
      this.logger.warn('POD_NAME and POD_UID are not set: desktops are not owned by the server pod, so the cluster cannot remove them if this server is deleted (the Helm chart sets both)');
    } else if (pod && pod.namespace !== namespace) {
      this.logger.warn(`Desktops live in namespace ${namespace} and the server in ${pod.namespace}: owner references cannot cross namespaces, so only this server deletes its desktops`);
    }
    return { release: k.release, server, pod };
  }

  /**
   * Shared mode: the server's Deployment (KUBERNETES_OWNER_DEPLOYMENT, in the server's namespace), owner of the
   * desktops so that they outlive any one server pod but not the release. Undefined, with one warning, when it is
   * not set, not found, cannot be read, or lives in another namespace than the desktops.
   */
  private async ownerDeployment(api: KubernetesApi, namespace: string): Promise<OwnerObject | undefined> {
    const k = this.settings;
    const name = k.ownerDeployment;
    const where = k.self.podNamespace ?? namespace;
    const outlive =
      'desktops are owned by no object, so they outlive an uninstall of the server (delete them then with ' +
      `kubectl -n ${namespace} delete ${k.backend === 'pods' ? 'pods' : 'pods,sandboxclaims'} -l app.kubernetes.io/instance=${k.release})`;
    if (!name) {
      this.logger.warn(`KUBERNETES_OWNER_DEPLOYMENT is not set: with REDIS_URL desktops are not owned by the server pod (they outlive it, for another replica), and ${outlive}`);
      return undefined;
    }
    if (where !== namespace) {
      this.logger.warn(`Desktops live in namespace ${namespace} and the server's Deployment ${name} in ${where}: owner references cannot cross namespaces, so ${outlive}`);
      return undefined;
    }
    try {
      const uid = await api.getDeploymentUid(where, name);
      if (uid) return { name, uid, namespace: where };
      this.logger.warn(`Deployment ${name} (KUBERNETES_OWNER_DEPLOYMENT) was not found in namespace ${where}: ${outlive}`);
    } catch (e) {
      this.logger.warn(`Deployment ${name} (KUBERNETES_OWNER_DEPLOYMENT) could not be read in namespace ${where} (${apiErrorMessage(e)}; the server needs get on it): ${outlive}`);
    }
    return undefined;
  }

  /** Shared mode: how the fleet claims desktops among the replicas (ComputerClaims by handle); undefined otherwise. */
  private sharing(noun: string): FleetSharing | undefined {
    if (!this.shared) return undefined;
    const handle = (name: string) => desktopHandle(this.settings.namespace, noun, name);
    return {
      holder: async () => {
        await this.replica.joined();
        return this.replica.owner;
      },
      take: (name, holder) => this.claims.take(handle(name), holder),
      adopt: (name, holder) => this.claims.adopt(handle(name), holder),
      release: (name, holder) => this.claims.release(handle(name), holder),
      alive: async () => new Set((await this.replicas.list()).map((r) => ownerToken(r.id, r.epoch))),
      sweepEveryMs: Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, this.cluster.replicaLeaseMs)),
    };
  }

  private async pickBackend(api: KubernetesApi, owner: DesktopOwner): Promise<{ backend: KubernetesBackend; fleet: DesktopFleet<KubernetesObject> }> {
    const k = this.settings;
    const common = {
      selector: releaseSelector(k.release),
      owner,
      readyTimeoutMs: k.readyTimeoutMs,
      deleteGraceSeconds: k.deleteGraceSeconds,
      goneTimeoutMs: Math.max(100, this.pool.destroyTimeoutMs - 500),
      findServerPod: (name: string) => api.getPod(owner.pod?.namespace ?? k.namespace, name),
    };
    if (k.backend !== 'pods') {
      let served: Awaited<ReturnType<KubernetesApi['servedSandboxVersions']>>;
      try {
        served = await api.servedSandboxVersions();
      } catch (e) {
        served = { served: [], problems: [apiErrorMessage(e)] };
      }
      const choice = chooseClaimVersion(served.served, k.sandboxWarmPool, k.sandboxTemplate);
      const problems = served.problems.length ? ` (discovery: ${served.problems.join('; ')})` : '';
      if (choice.version) {
        const version = choice.version;
        this.logger.log(`Kubernetes desktops: backend agent-sandbox (KUBERNETES_BACKEND=${k.backend}): SandboxClaims ${version} from ${choice.why} in namespace ${k.namespace} at ${api.server}`);
        if (k.podTemplate || k.podTemplateFile) this.logger.warn('KUBERNETES_POD_TEMPLATE(_FILE) is ignored with agent-sandbox: the SandboxTemplate describes the desktop pod');
        const resource = api.claims(k.namespace, version);
        const fleet = new DesktopFleet<KubernetesObject>({
          ...common,
          resource,
          sharing: this.sharing(resource.noun),
          build: (maker) => buildSandboxClaim({ namespace: k.namespace, owner, version, warmPool: k.sandboxWarmPool, template: k.sandboxTemplate, maker }),
          stateOf: (o) => claimState(o),
        });
        return { backend: 'agent-sandbox', fleet };
      }
      if (k.backend === 'agent-sandbox') {
        throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `KUBERNETES_BACKEND=agent-sandbox, but ${choice.why}${problems}. Install agent-sandbox (its extensions CRDs), name a warm pool, or set KUBERNETES_BACKEND=pods.`);
      }
      this.logger.log(`KUBERNETES_BACKEND=auto: not using agent-sandbox because ${choice.why}${problems}`);
    }
    const template = this.podTemplate(api);
    const image = k.desktopImage;
    const defaultImage = `cua-mcp-server:${packageVersion()}`;
    const screen = { width: this.computer.screenWidth, height: this.computer.screenHeight };
    // Each desktop gets its own computer-server key: only this server, which made the pod, can drive it.
    const build = (maker?: string) =>
      buildDesktopPod({ namespace: k.namespace, owner, image, defaultImage, port: k.desktopPort, screen, deleteGraceSeconds: k.deleteGraceSeconds, template, apiKey: randomBytes(24).toString('base64url'), maker });
    const sample = build();
    this.logger.log(
      `Kubernetes desktops: backend pods (KUBERNETES_BACKEND=${k.backend}) in namespace ${k.namespace} at ${api.server}, image ${sample.spec?.containers[0]?.image ?? '?'}, ` +
        `port ${k.desktopPort}, ready within ${k.readyTimeoutMs} ms, release ${k.release}, server ${owner.server}${ownedBy(owner)}`,
    );
    const resource = api.pods(k.namespace);
    const fleet = new DesktopFleet<KubernetesObject>({ ...common, resource, sharing: this.sharing(resource.noun), build, stateOf: (o) => podState(o) });
    return { backend: 'pods', fleet };
  }

  /** KUBERNETES_POD_TEMPLATE (JSON) or KUBERNETES_POD_TEMPLATE_FILE (YAML or JSON), as a Pod. */
  private podTemplate(api: KubernetesApi): V1Pod {
    const k = this.settings;
    let text = k.podTemplate;
    let where = 'KUBERNETES_POD_TEMPLATE';
    if (k.podTemplateFile) {
      where = `KUBERNETES_POD_TEMPLATE_FILE (${k.podTemplateFile})`;
      try {
        text = readFileSync(k.podTemplateFile, 'utf8');
      } catch (e) {
        throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `${where} cannot be read: ${errorMessage(e)}`);
      }
    }
    if (text === undefined || text.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = api.parseYaml(text);
    } catch (e) {
      throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `${where} is not valid YAML or JSON: ${errorMessage(e)}`);
    }
    const pod = parsed as V1Pod | null;
    const containers: unknown = pod?.spec?.containers;
    if (typeof pod !== 'object' || pod === null || Array.isArray(pod) || (containers !== undefined && !Array.isArray(containers))) {
      throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `${where} must be a Pod: an object with optional metadata and spec (spec.containers a list)`);
    }
    return pod;
  }
}

/** For the start-up log: who owns the desktops. */
function ownedBy(owner: DesktopOwner): string {
  if (owner.shared) {
    const d = owner.shared.deployment;
    return `, shared with the other replicas (REDIS_URL): owned by ${d ? `Deployment ${d.name}` : 'no object'}, outliving this server pod`;
  }
  return owner.pod ? `, owned by pod ${owner.pod.name}` : '';
}
