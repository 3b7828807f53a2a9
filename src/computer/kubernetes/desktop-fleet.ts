import type { KubernetesObject } from '@kubernetes/client-node';
import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { abortReason, DomainError, DomainErrorCode, errorMessage } from '../../common/domain-error';
import type { TakeResult } from '../../cluster/cluster.module';
import { ANNOTATION, DesktopOwner, isOfRelease } from './desktop-labels';
import { DesktopState, describeState, reasonLabel } from './desktop-state';
import { apiErrorMessage, DesktopResource } from './kubernetes-api';
import { decideAtStartup, decideOrphan, orphanedBy } from './reconcile';
import { ResourceWatch } from './resource-watch';

export interface FleetOptions<T extends KubernetesObject> {
  resource: DesktopResource<T>;
  /** Selects every desktop of our release. */
  selector: string;
  owner: DesktopOwner;
  /** A fresh manifest for one desktop; `maker` (shared mode): the owner token of the replica making it. */
  build: (maker?: string) => T;
  stateOf: (object: T) => DesktopState;
  readyTimeoutMs: number;
  deleteGraceSeconds: number;
  /** How long release() waits for a deleted desktop to be gone. */
  goneTimeoutMs: number;
  /** Looks up a server pod by name (the owner check at start); undefined when there is none. */
  findServerPod: (name: string) => Promise<{ metadata?: { uid?: string } } | undefined>;
  /** Shared mode (REDIS_URL): desktops are claimed among the replicas and outlive this one. */
  sharing?: FleetSharing;
}

/**
 * How the replicas sharing a session registry share desktops: each desktop is claimed (ComputerClaims, by the
 * handle the provider makes of its name) by the replica incarnation that holds it, named by its owner token.
 */
export interface FleetSharing {
  /** This replica's owner token (`id@epoch`), once it has joined the replica directory. */
  holder(): Promise<string>;
  /** Claims a desktop (ComputerClaims.take): refused while a live replica holds it or a session's record names it. */
  take(name: string, holder: string): Promise<TakeResult>;
  /** Claims the desktop of a session this replica adopts (ComputerClaims.adopt). */
  adopt(name: string, holder: string): Promise<TakeResult>;
  /** Frees the claim (ComputerClaims.release); false when `holder` did not hold it. */
  release(name: string, holder: string): Promise<boolean>;
  /** The owner tokens of the replicas alive now. */
  alive(): Promise<ReadonlySet<string>>;
  /** How often the orphan sweep runs (it also runs once this replica has joined). */
  sweepEveryMs: number;
}

/** A desktop that reached Ready. */
export interface ReadyDesktop<T = KubernetesObject> {
  name: string;
  ip: string;
  /** The object as the cluster returned it on create. */
  object: T;
}

/** Why a desktop failed, for the metric and the logs. `reason` is from a bounded set (see reasonLabel). */
export interface DesktopFailure {
  name: string;
  reason: string;
  message: string;
}

export interface DesktopFleetEvents {
  /** A desktop failed to start or was lost. */
  failure: [DesktopFailure];
}

type Phase = 'starting' | 'live' | 'deleting' | 'gone';

interface Entry {
  name: string;
  phase: Phase;
  state?: DesktopState;
  /** Settles the provision() waiting for this desktop. */
  object?: KubernetesObject;
  waiter?: { resolve: (d: ReadyDesktop) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  /** Told once when a live desktop is lost (deleted or failed under its session). */
  onLost?: (message: string) => void;
  removal?: Promise<void>;
  /** Shared mode: the owner token this replica claimed the desktop with, until the claim is freed. */
  holder?: string;
  /** Shared mode: settles once the claim of a desktop made here was asked for (never rejects). */
  claimed?: Promise<void>;
  gone: Promise<void>;
  markGone: () => void;
}

/**
 * The desktops (pods or SandboxClaims) of this server: creates one and waits — by watch, never a
 * polling loop — until it is Ready, failed or too slow; deletes each exactly once; tells a live
 * desktop's computer when the cluster takes it away; cleans up what an earlier run left at start;
 * and deletes everything of ours at stop. Emits 'failure' (DesktopFailure).
 *
 * Shared mode (`sharing`, with REDIS_URL): a desktop carries the owner token of the replica that made it
 * (ANNOTATION.maker) and is claimed right after it is created; it can be adopted by another replica (adopt) and let
 * go of without being deleted (detach); its deletion frees its claim. Instead of the start-up clean-up, an orphan
 * sweep (at start, then every `sweepEveryMs`) deletes the desktops left by replicas that are gone and that no
 * session waits for (see decideOrphan).
 */
export class DesktopFleet<T extends KubernetesObject> {
  private readonly logger: Logger;
  private readonly mine = new Map<string, Entry>();
  /** The latest copy of every desktop of the release, from the watch. */
  private readonly seen = new Map<string, T>();
  private readonly watch: ResourceWatch<T>;
  private stopping?: Promise<void>;
  /** Set when the server begins to shut down: nothing new starts, desktops still starting are dropped. */
  private closed = false;
  private sweepTimer?: NodeJS.Timeout;
  /** The orphan sweep under way, which a later call joins. */
  private sweeping?: Promise<string[]>;
  /** Whether the last sweep failed (said once per outage). */
  private sweepFailed = false;
  readonly events = new EventEmitter<DesktopFleetEvents>();

  constructor(private readonly o: FleetOptions<T>) {
    this.logger = new Logger(`KubernetesDesktops`);
    this.watch = new ResourceWatch(o.resource, o.selector, { synced: (items) => this.synced(items), changed: (type, obj) => this.changed(type, obj) }, this.logger);
  }

  get noun() {
    return this.o.resource.noun;
  }

  get watchStats() {
    return this.watch.stats;
  }

  /** Lists the release's desktops, deletes those an earlier run left (see reconcile.ts), and starts watching. */
  async start(): Promise<void> {
    const found = await this.watch.start();
    const deleted: string[] = [];
    const kept: string[] = [];
    const shared: string[] = [];
    for (const obj of found) {
      const name = obj.metadata?.name;
      if (!name) continue;
      if (this.o.sharing && obj.metadata?.annotations?.[ANNOTATION.maker] !== undefined) {
        // Made by a replica sharing the registry: its session may be adopted. The orphan sweep decides.
        shared.push(name);
        continue;
      }
      let decision = decideAtStartup(obj.metadata ?? {}, this.o.owner);
      if (decision.action === 'check-owner') {
        const owner = decision.owner;
        const current = await this.o.findServerPod(owner.name).catch((e: unknown) => {
          this.logger.warn(`Cannot look up server pod ${owner.name}, owner of ${this.noun} ${name}: ${apiErrorMessage(e)}; leaving it to the cluster's garbage collector`);
          return { metadata: { uid: owner.uid } };
        });
        decision = orphanedBy(owner, current?.metadata) ? { action: 'delete', why: `its server pod ${owner.name} is gone` } : { action: 'keep', why: `its server pod ${owner.name} is running` };
      }
      if (decision.action === 'delete') {
        this.logger.warn(`Deleting ${this.noun} ${name}: ${decision.why}`);
        await this.o.resource.remove(name, this.o.deleteGraceSeconds).catch((e: unknown) => this.logger.error(`Deleting ${this.noun} ${name} failed: ${apiErrorMessage(e)}`));
        deleted.push(name);
      } else {
        kept.push(name);
      }
    }
    this.logger.log(
      `Start-up reconciliation: ${found.length} ${this.noun}(s) of release ${this.o.owner.release} found; ` +
        `${deleted.length} deleted as left by an earlier run${deleted.length ? ` (${deleted.join(', ')})` : ''}; ${kept.length} kept as another server's${kept.length ? ` (${kept.join(', ')})` : ''}` +
        (this.o.sharing ? `; ${shared.length} made by replicas sharing the session registry, left to the orphan sweep${shared.length ? ` (${shared.join(', ')})` : ''}` : ''),
    );
    if (this.o.sharing) this.startSweeping(this.o.sharing);
  }

  /** Shared mode: the orphan sweep, once this replica has joined (its owner token is needed), then periodically. */
  private startSweeping(sharing: FleetSharing) {
    void sharing.holder().then(async () => {
      if (this.closed) return;
      await this.sweepOrphans();
      if (this.closed) return;
      this.sweepTimer = setInterval(() => void this.sweepOrphans(), sharing.sweepEveryMs);
      this.sweepTimer.unref();
    });
  }

  /**
   * Shared mode: deletes the desktops of the release that this replica does not use, whose maker is gone and whose
   * claim it could take (no live replica holds it, no session's record names it), and frees their claims. Never one
   * a live replica is creating or holding. Returns the names deleted; failures are logged, and retried next time.
   * A call while a sweep is under way joins it.
   */
  sweepOrphans(): Promise<string[]> {
    const sharing = this.o.sharing;
    if (!sharing || this.closed) return Promise.resolve([]);
    this.sweeping ??= this.sweep(sharing).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweep(sharing: FleetSharing): Promise<string[]> {
    const deleted: string[] = [];
    try {
      // The desktops first, the live replicas after: a desktop seen now was made before the list is read, so its
      // maker, if alive, is on it (a replica joining later cannot have made it).
      const candidates = [...this.seen.values()].filter((o) => decideOrphan(o.metadata ?? {}, this.mine.has(o.metadata?.name ?? ''), new Set()).action === 'take');
      if (!candidates.length) return deleted;
      const alive = await sharing.alive();
      const self = await sharing.holder();
      for (const obj of candidates) {
        const name = obj.metadata?.name ?? '';
        if (this.closed) break;
        const decision = decideOrphan(obj.metadata ?? {}, this.mine.has(name), alive);
        if (decision.action === 'keep') continue;
        const claim = await sharing.take(name, self);
        // A live replica holds it (it adopted the desktop), or a session's record names it: that session waits for it.
        if (!claim.taken) continue;
        // Taken over here meanwhile (its claim is this replica's either way), or this replica is stopping.
        if (this.closed || this.mine.has(name)) continue;
        this.logger.warn(`Deleting ${this.noun} ${name}: the replica that made it (${decision.maker}) is gone, and no session holds it`);
        let existed: boolean;
        try {
          existed = await this.o.resource.remove(name, this.o.deleteGraceSeconds);
        } catch (e) {
          // The claim stays with this replica: the next sweep tries again (or, should this replica go, another's).
          this.logger.error(`Deleting ${this.noun} ${name} failed: ${apiErrorMessage(e)}`);
          continue;
        }
        await sharing.release(name, self);
        if (existed) deleted.push(name);
      }
      this.logger.debug(
        `Orphan sweep: ${candidates.length} ${this.noun}(s) of other replicas; ${deleted.length} deleted, ${candidates.length - deleted.length} kept ` +
          '(their replicas are alive or hold them, or a session waits for them)',
      );
      this.sweepFailed = false;
    } catch (e) {
      if (!this.sweepFailed) this.logger.warn(`The sweep for desktops left by replicas that are gone failed: ${errorMessage(e)}. It runs again every ${sharing.sweepEveryMs} ms.`);
      this.sweepFailed = true;
    }
    return deleted;
  }

  /** Creates a desktop and waits until it is Ready. On failure or timeout it is deleted and the error names why. */
  async provision(signal?: AbortSignal): Promise<ReadyDesktop<T>> {
    if (this.closed) throw shuttingDown();
    if (signal?.aborted) throw abortReason(signal, 'Starting a desktop');
    const sharing = this.o.sharing;
    const maker = sharing && (await sharing.holder());
    if (this.closed) throw shuttingDown();
    let created: T;
    try {
      created = await this.o.resource.create(this.o.build(maker));
    } catch (e) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Could not create a desktop ${this.noun}: ${apiErrorMessage(e)}`, { cause: e });
    }
    const name = created.metadata?.name ?? '';
    const entry = this.track(name);
    entry.object = created;
    // Claimed at once, while it starts: nothing may come between tracking it and waiting for it, or the watch could
    // find it ready before anyone waits (its release waits for the claim, and so does the caller).
    if (sharing && maker !== undefined) {
      entry.holder = maker;
      entry.claimed = this.claimMade(name, sharing, maker);
    }
    this.logger.log(`Created ${this.noun} ${name}; waiting for it to be ready (at most ${this.o.readyTimeoutMs} ms)`);
    const ready = await new Promise<ReadyDesktop<T>>((resolve, reject) => {
      const onAbort = () => {
        const reason = abortReason(signal!, 'Starting a desktop');
        // The pool gave up (its create timeout) or the caller left: the pod goes either way.
        if (reason.code === DomainErrorCode.COMPUTER_FAILED) this.fail(entry, 'ReadyTimeout', `was not ready in time: ${entry.state ? describeState(entry.state) : 'no status yet'}`);
        else this.settle(entry, undefined, reason);
        void this.remove(entry);
      };
      const timer = setTimeout(() => {
        const state = entry.state;
        const reason = state?.kind === 'starting' && state.reason === 'Unschedulable' ? 'Unschedulable' : 'ReadyTimeout';
        const why = reason === 'Unschedulable' ? 'the cluster has no room for it' : 'it was not ready';
        this.fail(entry, reason, `${why} after ${this.o.readyTimeoutMs} ms (KUBERNETES_POD_READY_TIMEOUT_MS): ${state ? describeState(state) : 'no status yet'}`);
      }, this.o.readyTimeoutMs);
      entry.waiter = {
        resolve: (d) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(d as ReadyDesktop<T>);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        timer,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.closed) {
        this.settle(entry, undefined, shuttingDown());
        void this.remove(entry);
        return;
      }
      this.evaluate(entry, this.seen.get(name) ?? created);
    });
    await entry.claimed;
    return ready;
  }

  /** Called once if the cluster takes a live desktop away (deleted, evicted, crashed). */
  onLost(name: string, listener: (message: string) => void) {
    const entry = this.mine.get(name);
    if (entry) entry.onLost = listener;
  }

  /**
   * Shared mode: takes over the desktop of a session adopted from a replica that is gone. Only an object of this
   * fleet's kind and namespace, labelled as a desktop of the release, that exists and is ready; it is claimed
   * (ComputerClaims.adopt), then tracked as a live desktop of this replica (onLost, release as usual). Anything else
   * is refused with COMPUTER_FAILED, and nothing is connected to.
   */
  async adopt(name: string): Promise<ReadyDesktop<T>> {
    const sharing = this.o.sharing;
    const what = `The session's desktop ${this.noun} ${name}`;
    if (!sharing) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} cannot be taken over: desktops are shared among replicas only with REDIS_URL.`);
    if (this.closed) throw shuttingDown();
    if (this.mine.has(name)) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} is in use here already; it cannot be taken over.`);
    let obj: T | undefined;
    try {
      obj = await this.o.resource.get(name);
    } catch (e) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} could not be looked up: ${apiErrorMessage(e)}`, { cause: e });
    }
    if (!obj) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} no longer exists; it cannot be taken over.`);
    if (!isOfRelease(obj.metadata?.labels, this.o.owner.release)) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} is not a desktop of release ${this.o.owner.release}; it is not taken over.`);
    }
    const state = this.o.stateOf(obj);
    if (state.kind !== 'ready') throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} is ${describeState(state)}; it cannot be taken over.`);
    const holder = await sharing.holder();
    if (this.closed) throw shuttingDown();
    if (this.mine.has(name)) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} is in use here already; it cannot be taken over.`);
    // Tracked before it is claimed: the orphan sweep passes a desktop this replica tracks by.
    const entry = this.track(name);
    entry.phase = 'live';
    entry.object = obj;
    entry.state = state;
    let claim: TakeResult;
    try {
      claim = await sharing.adopt(name, holder);
    } catch (e) {
      this.forget(entry);
      throw e;
    }
    if (!claim.taken) {
      this.forget(entry);
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} is held by the replica ${claim.holder}; it cannot be taken over.`);
    }
    entry.holder = holder;
    // Its end, should the watch have seen it meanwhile, counts (a desktop never comes back from failed or gone; the
    // watch's copy may be older than the one looked up, so only those are taken from it).
    const latest = this.seen.get(name);
    if (latest && ['failed', 'gone'].includes(this.o.stateOf(latest).kind)) this.evaluate(entry, latest);
    if (entry.phase !== 'live' || entry.state?.kind !== 'ready') {
      const now = entry.state ? describeState(entry.state) : 'gone';
      await this.remove(entry);
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `${what} is ${now}; it cannot be taken over.`);
    }
    this.logger.log(`Took over ${this.noun} ${name} (made by ${obj.metadata?.annotations?.[ANNOTATION.maker] ?? 'an unknown replica'}${claim.previous ? `, held by ${claim.previous.holder}` : ''})`);
    return { name, ip: entry.state.ip, object: obj };
  }

  /**
   * Shared mode: lets go of a live desktop without deleting it (this replica stops, and another adopts its session):
   * forgotten here; its claim stays, for the replica that adopts it.
   */
  detach(name: string): void {
    const entry = this.mine.get(name);
    if (!entry || entry.removal) return;
    this.settle(entry, undefined, shuttingDown());
    entry.onLost = undefined;
    this.forget(entry);
    this.logger.log(`Let go of ${this.noun} ${name} as it is, for the replica that takes its session over`);
  }

  /** Deletes a desktop (once, whoever asks) and waits, up to goneTimeoutMs, until the cluster reports it gone. */
  release(name: string): Promise<void> {
    const entry = this.mine.get(name);
    return entry ? this.remove(entry) : Promise.resolve();
  }

  /** Names of desktops of ours that exist (for tests and logs). */
  names(): string[] {
    return [...this.mine.values()].filter((e) => e.phase !== 'gone').map((e) => e.name);
  }

  /**
   * The server is shutting down: no new desktop starts, and those still starting are deleted now
   * (nobody will use them), so the pool's drain does not wait out their ready timeout. Live
   * desktops stay until their sessions release them.
   */
  async stopStarting(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    const starting = [...this.mine.values()].filter((e) => e.phase === 'starting');
    for (const e of starting) this.settle(e, undefined, shuttingDown());
    await Promise.all(starting.map((e) => this.remove(e)));
  }

  /** Fails desktops still starting, deletes every desktop of ours not yet deleted (each once), waits for them, stops watching. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.closed = true;
      clearInterval(this.sweepTimer);
      const entries = [...this.mine.values()];
      if (entries.length) this.logger.log(`Deleting ${entries.length} ${this.noun}(s) of this server`);
      for (const e of entries) this.settle(e, undefined, shuttingDown());
      await Promise.all(entries.map((e) => this.remove(e)));
      await this.watch.stop();
    })();
    return this.stopping;
  }

  /** Shared mode: claims a desktop just made. Should that fail, its maker annotation still keeps it while this replica lives. */
  private async claimMade(name: string, sharing: FleetSharing, holder: string) {
    try {
      const claim = await sharing.take(name, holder);
      if (!claim.taken) this.logger.warn(`${this.noun} ${name} is claimed by the replica ${claim.holder} already`);
    } catch (e) {
      this.logger.warn(`${this.noun} ${name}: its claim could not be recorded (${errorMessage(e)}); no other replica deletes it while this one lives`);
    }
  }

  /** Shared mode: frees the desktop's claim (once), as it is deleted or gone. */
  private async unclaim(entry: Entry) {
    const holder = entry.holder;
    const sharing = this.o.sharing;
    if (holder === undefined || !sharing) return;
    entry.holder = undefined;
    await entry.claimed;
    await sharing.release(entry.name, holder).catch((e: unknown) =>
      this.logger.warn(`${this.noun} ${entry.name}: its claim could not be freed (${errorMessage(e)}); it goes with this replica's lease`),
    );
  }

  /** Stops tracking a desktop without deleting it. */
  private forget(entry: Entry) {
    entry.phase = 'gone';
    entry.markGone();
    if (this.mine.get(entry.name) === entry) this.mine.delete(entry.name);
  }

  private track(name: string): Entry {
    let markGone!: () => void;
    const gone = new Promise<void>((r) => (markGone = r));
    const entry: Entry = { name, phase: 'starting', gone, markGone };
    this.mine.set(name, entry);
    return entry;
  }

  private synced(items: T[]) {
    const now = new Set<string>();
    for (const obj of items) {
      const name = obj.metadata?.name;
      if (!name) continue;
      now.add(name);
      this.seen.set(name, obj);
      const entry = this.mine.get(name);
      if (entry) this.evaluate(entry, obj);
    }
    for (const name of [...this.seen.keys()]) if (!now.has(name)) this.seen.delete(name);
    // Ours but missing from the new list: deleted while the watch was down — unless created just
    // after the list was taken, so ask before believing it.
    for (const entry of this.mine.values()) {
      if (now.has(entry.name) || entry.phase === 'gone') continue;
      this.o.resource.get(entry.name).then(
        (obj) => (obj ? this.evaluate(entry, obj) : this.vanished(entry)),
        (e: unknown) => this.logger.warn(`Cannot look up ${this.noun} ${entry.name}: ${apiErrorMessage(e)}`),
      );
    }
  }

  private changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) {
    const name = obj.metadata?.name;
    if (!name) return;
    const entry = this.mine.get(name);
    if (type === 'DELETED') {
      this.seen.delete(name);
      if (entry) this.vanished(entry);
      return;
    }
    this.seen.set(name, obj);
    if (entry) this.evaluate(entry, obj);
  }

  /** Acts on a desktop's new state. */
  private evaluate(entry: Entry, obj: T) {
    if (entry.phase === 'gone') return;
    const state = this.o.stateOf(obj);
    const previous = entry.state;
    entry.state = state;
    if (previous?.kind !== state.kind || (state.kind === 'starting' && previous.kind === 'starting' && previous.reason !== state.reason)) {
      this.logger.debug(`${this.noun} ${entry.name}: ${describeState(state)}`);
    }
    if (entry.phase === 'starting') {
      if (state.kind === 'ready') {
        entry.phase = 'live';
        this.settle(entry, { name: entry.name, ip: state.ip, object: entry.object ?? obj });
      } else if (state.kind === 'failed') {
        this.fail(entry, state.reason, state.message);
      } else if (state.kind === 'gone') {
        this.fail(entry, 'Deleted', 'was deleted before it was ready');
      }
    } else if (entry.phase === 'live') {
      if (state.kind === 'failed') {
        this.lose(entry, state.reason, `failed: ${state.message}`);
        void this.remove(entry);
      } else if (state.kind === 'gone') {
        this.lose(entry, 'Deleted', 'was deleted');
      }
    }
  }

  /** The desktop no longer exists. */
  private vanished(entry: Entry) {
    if (entry.phase === 'starting') this.fail(entry, 'Deleted', 'was deleted before it was ready');
    else if (entry.phase === 'live') this.lose(entry, 'Deleted', 'was deleted');
    entry.phase = 'gone';
    entry.markGone();
    this.mine.delete(entry.name);
    void this.unclaim(entry);
  }

  /** A starting desktop will not come up: the waiting caller gets an error naming why; the desktop is deleted. */
  private fail(entry: Entry, reason: string, message: string) {
    if (entry.phase !== 'starting' || !entry.waiter) return;
    const text = `Desktop ${this.noun} ${entry.name} ${message}. It was deleted.`;
    this.logger.error(`${text} [reason ${reason}]`);
    this.events.emit('failure', { name: entry.name, reason: reasonLabel(reason), message });
    this.settle(entry, undefined, new DomainError(DomainErrorCode.COMPUTER_FAILED, text));
    void this.remove(entry);
  }

  /** A live desktop went away under its session. */
  private lose(entry: Entry, reason: string, message: string) {
    if (entry.phase !== 'live') return;
    entry.phase = entry.removal ? 'deleting' : 'live';
    const listener = entry.onLost;
    entry.onLost = undefined;
    if (!listener) return;
    this.logger.warn(`Desktop ${this.noun} ${entry.name} ${message} while in use [reason ${reason}]`);
    this.events.emit('failure', { name: entry.name, reason: reasonLabel(reason), message });
    listener(`The desktop ${this.noun} ${entry.name} ${message}`);
  }

  private settle(entry: Entry, ok?: ReadyDesktop, error?: Error) {
    const waiter = entry.waiter;
    if (!waiter) return;
    entry.waiter = undefined;
    clearTimeout(waiter.timer);
    if (ok) waiter.resolve(ok);
    else waiter.reject(error ?? shuttingDown());
  }

  /** Deletes once; later callers share the first deletion. */
  private remove(entry: Entry): Promise<void> {
    entry.removal ??= (async () => {
      entry.onLost = undefined;
      if (entry.phase !== 'gone') entry.phase = 'deleting';
      let existed = true;
      for (let attempt = 1; ; attempt++) {
        try {
          if (entry.phase === 'gone') existed = false;
          // Already being deleted by someone else (kubectl, an eviction): wait for it, do not delete again.
          else if (entry.state?.kind !== 'gone') existed = await this.o.resource.remove(entry.name, this.o.deleteGraceSeconds);
          break;
        } catch (e) {
          if (attempt >= 3) {
            this.logger.error(`Deleting ${this.noun} ${entry.name} failed: ${apiErrorMessage(e)}`);
            return;
          }
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
      if (!existed) return this.vanished(entry);
      // Deleted (it may still be terminating): nobody holds it any more.
      await this.unclaim(entry);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.o.goneTimeoutMs)));
      const late = await Promise.race([entry.gone.then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) this.logger.warn(`${this.noun} ${entry.name} is still terminating after ${this.o.goneTimeoutMs} ms; the cluster will finish deleting it`);
    })();
    return entry.removal;
  }
}

function shuttingDown() {
  return new DomainError(DomainErrorCode.SHUTTING_DOWN, 'The server is shutting down; no new desktops are started.');
}
