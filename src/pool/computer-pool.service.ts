import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { withTimeout } from '../common/async';
import { backoffDelay } from '../common/backoff';
import { abortReason, DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { ServingMode } from '../lifecycle/lifecycle.module';
import { POOL_SETTINGS, type PoolSettings } from './pool.settings';
import { Computer, ComputerProviderRegistry } from '../computer/computer.module';
import { PoolMeter, PoolMetrics } from './pool-meter';
import { ComputerLimitError, poolDraining, PoolExhaustedError, PoolQueueFullError } from './pool.errors';

export interface Lease {
  readonly id: string;
  readonly computer: Computer;
  /** Who holds it (a session id), for logs and leak reports. */
  readonly owner: string;
  /** Whose share of the pool it counts against. */
  readonly principal: string;
  readonly leasedAt: number;
  /** True when the computer was ready in stock when asked for (a warm start). */
  readonly warm: boolean;
  /** How long acquire() waited for it. */
  readonly waitedMs: number;
}

export interface PoolEvents {
  /** Stock was handed to a waiter: its ticket (order of arrival), owner and principal. */
  handoff: [ticket: number, owner: string, principal: string];
  leased: [Lease];
  released: [Lease];
  /** A computer was closed; its id. */
  destroyed: [computerId: string];
}

export interface AcquireOptions {
  owner: string;
  /**
   * Whose share of the pool this counts against: MAX_COMPUTERS_PER_PRINCIPAL, and the turn it
   * waits in. Defaults to `owner`.
   */
  principal?: string;
  signal?: AbortSignal;
  /** Defaults to POOL_ACQUIRE_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface PoolStats {
  /** Every computer the pool holds: leased + idle + creating + being handed over or checked + destroying. */
  size: number;
  leased: number;
  idle: number;
  creating: number;
  waiting: number;
  max: number;
  min_warm: number;
}

/** A ready computer in stock. */
interface Idle {
  computer: Computer;
  createdAt: number;
  idleSince: number;
  retire: NodeJS.Timeout;
}

interface Waiter {
  owner: string;
  principal: string;
  /** Place in line, kept when a waiter goes back to the front after a failed check. */
  ticket: number;
  enqueuedAt: number;
  /** Hands the waiter an idle computer (already taken out of stock). */
  give: (idle: Idle) => void;
  fail: (e: Error) => void;
}

/** Computers idle for less than this are not validated before a lease (they were just made or checked). */
const VALIDATE_AFTER_IDLE_MS = 1_000;
/** Up to this fraction of POOL_MAX_LIFETIME_MS is taken off at random, so stock does not expire all at once. */
const LIFETIME_JITTER = 0.1;

/**
 * The pool of computers.
 *
 * Promises: at most POOL_MAX_SIZE computers exist at once (leased + idle + creating + being
 * handed over or checked + destroying); POOL_MIN_WARM ready computers are kept in stock and
 * replenished in the background (over stdio only from the first acquire on: a probing MCP client
 * starts such a process just to ask what it serves, and stops it again); a principal holds or waits for at most
 * MAX_COMPUTERS_PER_PRINCIPAL computers (beyond that a call fails at once); at most
 * POOL_MAX_WAITERS callers wait, each for at most its acquire timeout, served in turns: one
 * principal after another (round-robin), each principal's calls in arrival order, so one
 * principal's many calls cannot queue out the others; an aborted wait leaves the queue at once
 * and whatever was being made for it goes to stock; a computer idle for a while is checked before
 * it is leased; a released computer is destroyed, never handed to anyone else; every create,
 * check and destroy has its own timeout; create failures back off exponentially and the oldest
 * waiter gets the error instead of waiting out its timeout. No lock is ever held across an
 * await: all bookkeeping is synchronous.
 */
@Injectable()
export class ComputerPool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ComputerPool.name);
  private readonly leases = new Map<string, { lease: Lease; warnTimer: NodeJS.Timeout }>();
  private readonly idle: Idle[] = [];
  /** In ticket (arrival) order. */
  private readonly waiters: Waiter[] = [];
  /** Principals with waiters, in the order they are served next. */
  private readonly turns: string[] = [];
  /** Computers each principal holds or is getting: leases, waits, hand-overs and checks in progress. */
  private readonly holdings = new Map<string, number>();
  private creating = 0;
  /** Taken out of stock for a caller and not yet leased (being handed over or checked). */
  private handing = 0;
  private destroying = 0;
  /** Aborts the creates in flight (drain stops them rather than waiting out their timeouts). */
  private readonly createAborts = new Set<AbortController>();
  private draining = false;
  private drained?: Promise<void>;
  private consecutiveCreateFailures = 0;
  private lastCreateError?: string;
  private backoffUntil = 0;
  private backoffTimer?: NodeJS.Timeout;
  /** Settles when nothing is being created, checked or destroyed and nothing is leased. */
  private quiet?: { promise: Promise<void>; resolve: () => void };
  readonly meter = new PoolMeter();
  /** What happens in the pool, for observers (logs, metrics, tests). */
  readonly events = new EventEmitter<PoolEvents>();
  private nextTicket = 0;
  /** No warm stock yet: over stdio, until the first acquire. */
  private warmHeld: boolean;

  constructor(
    @InjectSettings(POOL_SETTINGS) private readonly settings: PoolSettings,
    private readonly computers: ComputerProviderRegistry,
    @Optional() mode?: ServingMode,
  ) {
    this.warmHeld = mode?.stdio ?? false;
  }

  /** POOL_MAX_SIZE, or fewer when the provider cannot have that many computers (its capacity). */
  private get max() {
    return Math.min(this.settings.maxSize, this.computers.capacity() ?? Infinity);
  }

  /**
   * The most computers the pool can have at once: POOL_MAX_SIZE, or the provider's capacity when lower (a `cua`
   * provider has one computer per URL). Sessions beyond it would only wait; MAX_SESSIONS follows it when unset.
   */
  capacity(): number {
    return this.max;
  }

  /** MAX_COMPUTERS_PER_PRINCIPAL (or its default from the session caps); when every cap is unset, the pool's capacity. */
  maxPerPrincipal(): number {
    return this.settings.maxPerPrincipal ?? this.max;
  }

  private total() {
    return this.leases.size + this.idle.length + this.creating + this.handing + this.destroying;
  }

  onApplicationBootstrap() {
    this.fill();
  }

  async acquire(options: AcquireOptions): Promise<Lease> {
    if (this.draining) throw poolDraining();
    this.warmHeld = false;
    if (options.signal?.aborted) throw abortReason(options.signal, 'Waiting for a computer');
    const principal = options.principal ?? options.owner;
    this.claim(principal);
    try {
      return await this.obtain(options, principal);
    } catch (e) {
      this.unclaim(principal);
      throw e;
    }
  }

  /** How many more computers this principal may hold or wait for now. */
  roomFor(principal: string): number {
    return Math.max(0, this.maxPerPrincipal() - (this.holdings.get(principal) ?? 0));
  }

  /** Counts one more computer against the principal's share; refuses at once beyond MAX_COMPUTERS_PER_PRINCIPAL. */
  private claim(principal: string) {
    const n = this.holdings.get(principal) ?? 0;
    const max = this.maxPerPrincipal();
    if (n >= max) throw new ComputerLimitError(max);
    this.holdings.set(principal, n + 1);
  }

  private unclaim(principal: string) {
    const n = (this.holdings.get(principal) ?? 0) - 1;
    if (n > 0) this.holdings.set(principal, n);
    else this.holdings.delete(principal);
  }

  private async obtain(options: AcquireOptions, principal: string): Promise<Lease> {
    const started = Date.now();
    // Warm when stock is ready and nobody is ahead in the queue.
    let warm = this.idle.length > 0 && this.waiters.length === 0;
    let ticket: number | undefined;
    for (;;) {
      const returning = ticket !== undefined;
      const idle = warm ? this.takeFromStock() : await this.wait(options, principal, started, (ticket ??= this.nextTicket++), returning);
      const computer = await this.checkOut(idle, options);
      this.handing--;
      if (computer && options.signal?.aborted) {
        // Nobody wants it any more and nobody used it: back to stock for the next caller.
        this.stock(computer, idle.createdAt);
        this.fill();
        throw abortReason(options.signal, 'Waiting for a computer');
      }
      if (computer) {
        const waitedMs = Date.now() - started;
        this.meter.acquired(warm, waitedMs);
        const lease = this.lease(computer, options.owner, principal, warm, waitedMs);
        this.fill();
        return lease;
      }
      this.fill();
      // The computer failed its check and was destroyed: try again, keeping our deadline.
      warm = false;
      if (this.draining) throw poolDraining();
    }
  }

  /** Takes the oldest computer out of stock; it counts as `handing` until it is leased or destroyed. */
  private takeFromStock(): Idle {
    const idle = this.idle.shift()!;
    clearTimeout(idle.retire);
    this.handing++;
    return idle;
  }

  /** Validates a computer taken from stock; destroys it and returns undefined when it is dead. */
  private async checkOut(idle: Idle, options: AcquireOptions): Promise<Computer | undefined> {
    if (Date.now() - idle.idleSince < VALIDATE_AFTER_IDLE_MS) return idle.computer;
    const timeoutMs = Math.min(this.settings.validateTimeoutMs, (options.timeoutMs ?? this.settings.acquireTimeoutMs) / 2);
    let alive = false;
    try {
      alive = await withTimeout(idle.computer.isAlive(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
    } catch (e) {
      this.logger.warn(`Computer ${idle.computer.id} failed its check before lease: ${errorMessage(e)}`);
    }
    if (alive && !this.draining) return idle.computer;
    this.meter.validationFailed();
    void this.destroy(idle.computer, 'failed its check before lease');
    return undefined;
  }

  private lease(computer: Computer, owner: string, principal: string, warm: boolean, waitedMs: number): Lease {
    const lease: Lease = { id: randomUUID(), computer, owner, principal, leasedAt: Date.now(), warm, waitedMs };
    const warnMs = this.settings.leaseWarnMs;
    const warnTimer = setTimeout(
      () => this.logger.warn(`Computer ${computer.id} has been leased by session ${owner} for more than ${warnMs} ms (POOL_LEASE_WARN_MS); is the session still in use?`),
      warnMs,
    );
    warnTimer.unref();
    this.leases.set(lease.id, { lease, warnTimer });
    this.events.emit('leased', lease);
    return lease;
  }

  /** Queues for the next computer from stock: in the principal's turn, bounded, abortable, with a timeout. */
  private wait(options: AcquireOptions, principal: string, started: number, ticket: number, returning: boolean): Promise<Idle> {
    // A waiter coming back after a failed check keeps its place in line (by its ticket).
    if (!returning && this.waiters.length >= this.settings.maxWaiters) throw new PoolQueueFullError(this.settings.maxWaiters);
    const timeoutMs = Math.max(0, (options.timeoutMs ?? this.settings.acquireTimeoutMs) - (Date.now() - started));
    return new Promise<Idle>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        if (!this.waiters.some((w) => w.principal === principal)) this.leaveTurns(principal);
        fn();
      };
      const waiter: Waiter = {
        owner: options.owner,
        principal,
        ticket,
        enqueuedAt: Date.now(),
        give: (idle) =>
          settle(() => {
            this.events.emit('handoff', ticket, options.owner, principal);
            resolve(idle);
          }),
        fail: (e) => settle(() => reject(e)),
      };
      const onAbort = () => settle(() => reject(abortReason(options.signal!, 'Waiting for a computer')));
      const timer = setTimeout(() => settle(() => reject(new PoolExhaustedError(options.timeoutMs ?? this.settings.acquireTimeoutMs, this.max))), timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const at = this.waiters.findIndex((w) => w.ticket > ticket);
      if (at < 0) this.waiters.push(waiter);
      else this.waiters.splice(at, 0, waiter);
      // A waiter whose computer failed its check had its turn: it gets it back, at the front.
      if (returning) {
        this.leaveTurns(principal);
        this.turns.unshift(principal);
      } else if (!this.turns.includes(principal)) this.turns.push(principal);
      this.fill();
    });
  }

  private leaveTurns(principal: string) {
    const i = this.turns.indexOf(principal);
    if (i >= 0) this.turns.splice(i, 1);
  }

  /** The waiter served next: the oldest one of the principal whose turn it is; that principal goes to the back. */
  private nextWaiter(): Waiter {
    const principal = this.turns.shift()!;
    this.turns.push(principal);
    return this.waiters.find((w) => w.principal === principal)!;
  }

  /**
   * The pool's one scheduler, called after every change: hands stock to waiters in turns, then
   * starts creates for whatever is missing (waiters plus the warm target), within the size cap
   * and outside a backoff period.
   */
  private fill() {
    while (this.waiters.length && this.idle.length) this.nextWaiter().give(this.takeFromStock()); // give() removes the waiter
    if (this.draining) return;
    const wanted = this.waiters.length + (this.warmHeld ? 0 : this.settings.minWarm) - this.idle.length - this.creating;
    const room = this.max - this.total();
    const now = Date.now();
    if (wanted > 0 && room > 0 && now < this.backoffUntil) {
      if (!this.backoffTimer) {
        this.backoffTimer = setTimeout(() => {
          this.backoffTimer = undefined;
          this.fill();
        }, this.backoffUntil - now);
      }
      return;
    }
    // After a failed start, probe with one create at a time until one succeeds again.
    const parallel = this.consecutiveCreateFailures > 0 ? Math.max(0, 1 - this.creating) : room;
    for (let i = 0; i < Math.min(wanted, room, parallel); i++) void this.create();
  }

  /** Makes one computer for stock (bounded by POOL_CREATE_TIMEOUT_MS). Never throws. */
  private async create() {
    this.creating++;
    const t0 = Date.now();
    const { createTimeoutMs } = this.settings;
    const controller = new AbortController();
    this.createAborts.add(controller);
    let computer: Computer | undefined;
    const making = this.computers.create({ signal: controller.signal });
    try {
      computer = await withTimeout(making, createTimeoutMs, () => {
        const e = new DomainError(DomainErrorCode.COMPUTER_FAILED, `Starting a computer took longer than ${createTimeoutMs} ms (POOL_CREATE_TIMEOUT_MS).`);
        controller.abort(e);
        return e;
      });
    } catch (e) {
      // If the provider still delivers after its timeout, that computer is destroyed, not leaked.
      void making.then((late) => this.destroy(late, 'finished after its create timeout'), () => undefined);
      this.createAborts.delete(controller);
      this.creating--;
      // Stopped by drain: not a failed start.
      if (!this.draining) this.createFailed(e);
      this.settleIfQuiet();
      return;
    }
    this.createAborts.delete(controller);
    this.creating--;
    this.meter.created(Date.now() - t0);
    this.consecutiveCreateFailures = 0;
    this.backoffUntil = 0;
    if (this.draining) {
      await this.destroy(computer, 'made while draining');
      return;
    }
    this.stock(computer, t0);
    this.fill();
  }

  private createFailed(e: unknown) {
    if (e instanceof DomainError && e.code === DomainErrorCode.POOL_EXHAUSTED) return this.providerBusy(e);
    this.consecutiveCreateFailures++;
    this.lastCreateError = errorMessage(e);
    this.meter.createFailed();
    const { retryBaseMs, retryMaxMs } = this.settings;
    const delay = backoffDelay(this.consecutiveCreateFailures - 1, { baseMs: retryBaseMs, maxMs: retryMaxMs });
    this.backoffUntil = Date.now() + delay;
    this.logger.error(`Starting a computer failed (${this.consecutiveCreateFailures} in a row; next try in ${delay} ms): ${this.lastCreateError}`);
    // The oldest waiter learns why at once rather than waiting out its timeout.
    const err = e instanceof DomainError ? e : new DomainError(DomainErrorCode.COMPUTER_FAILED, `Could not start a computer: ${this.lastCreateError}`, { cause: e });
    this.waiters[0]?.fail(err);
    this.fill();
  }

  /**
   * The provider has no capacity now (e.g. every remote computer is leased or being reset): busy,
   * not broken. Readiness and the failure backoff are untouched and waiters keep waiting within
   * their own timeout; the pool asks again after POOL_RETRY_BASE_MS rather than at once.
   */
  private providerBusy(e: DomainError) {
    this.logger.debug(`No computer can be started yet: ${e.message}`);
    this.backoffUntil = Math.max(this.backoffUntil, Date.now() + this.settings.retryBaseMs);
    this.fill();
  }

  private stock(computer: Computer, createdAt: number) {
    const { idleTimeoutMs, maxLifetimeMs } = this.settings;
    const now = Date.now();
    const lifetimeLeft = createdAt + maxLifetimeMs * (1 - Math.random() * LIFETIME_JITTER) - now;
    const entry: Idle = {
      computer,
      createdAt,
      idleSince: now,
      retire: setTimeout(() => this.retire(entry), Math.max(0, Math.min(idleTimeoutMs, lifetimeLeft))),
    };
    entry.retire.unref();
    this.idle.push(entry);
  }

  /** An idle computer reached POOL_IDLE_TIMEOUT_MS or its lifetime: destroy it; fill() replaces it if needed. */
  private retire(entry: Idle) {
    const i = this.idle.indexOf(entry);
    if (i < 0) return;
    this.idle.splice(i, 1);
    this.meter.retired();
    void this.destroy(entry.computer, 'retired').then(() => this.fill());
  }

  /** The handle another replica could adopt the leased computer by; undefined for a computer only this process reaches. */
  handleOf(lease: Lease): string | undefined {
    return this.computers.handleOf(lease.computer);
  }

  /**
   * Leases the computer of a session adopted from a replica that is gone (ComputerProvider.adopt): it exists
   * already, so it takes no turn in the queue and is not held to POOL_MAX_SIZE, but counts against the principal's
   * share like any lease, and is released (reset, freed) like one.
   */
  async adopt(handle: string, options: AcquireOptions): Promise<Lease> {
    if (this.draining) throw poolDraining();
    const principal = options.principal ?? options.owner;
    this.claim(principal);
    const started = Date.now();
    try {
      const timeoutMs = options.timeoutMs ?? this.settings.acquireTimeoutMs;
      const computer = await withTimeout(this.computers.adopt(handle, { signal: options.signal }), timeoutMs, () => new DomainError(DomainErrorCode.COMPUTER_FAILED, `Reaching the session's computer took longer than ${timeoutMs} ms.`));
      return this.lease(computer, options.owner, principal, false, Date.now() - started);
    } catch (e) {
      this.unclaim(principal);
      throw e;
    }
  }

  /**
   * Frees the computer of a session that ended while no replica held it (its replica is gone): adopts it, then
   * releases it as usual (for a remote computer: reset, then free for the next session).
   */
  async reclaim(handle: string, owner: string): Promise<void> {
    const lease = await this.adopt(handle, { owner, principal: `reclaim:${owner}` });
    await this.release(lease);
  }

  /**
   * Lets go of a leased computer without ending it, for another replica to adopt (shutdown of a replica whose
   * sessions live on): this process's connection closes, the computer and what is on it stay. Idempotent.
   */
  async detach(lease: Lease): Promise<void> {
    const held = this.leases.get(lease.id);
    if (!held) return;
    this.leases.delete(lease.id);
    this.unclaim(lease.principal);
    clearTimeout(held.warnTimer);
    this.events.emit('released', lease);
    this.destroying++;
    try {
      await withTimeout(lease.computer.detach(), this.settings.destroyTimeoutMs, () => new Error(`detach() took longer than ${this.settings.destroyTimeoutMs} ms`));
    } catch (e) {
      this.logger.warn(`Letting go of computer ${lease.computer.id} failed: ${errorMessage(e)}`);
    } finally {
      this.destroying--;
      this.settleIfQuiet();
    }
  }

  /** Destroys a leased computer (bounded by POOL_DESTROY_TIMEOUT_MS) and frees its place. Idempotent. */
  async release(lease: Lease): Promise<void> {
    const held = this.leases.get(lease.id);
    if (!held) return;
    this.leases.delete(lease.id);
    this.unclaim(lease.principal);
    clearTimeout(held.warnTimer);
    this.meter.released(Date.now() - lease.leasedAt);
    this.events.emit('released', lease);
    await this.destroy(lease.computer, `released by ${lease.owner}`);
    this.fill();
  }

  private async destroy(computer: Computer, why: string) {
    this.destroying++;
    const { destroyTimeoutMs } = this.settings;
    try {
      await withTimeout(computer.close(), destroyTimeoutMs, () => new Error(`close() took longer than ${destroyTimeoutMs} ms`));
      this.meter.destroyedOne();
      this.events.emit('destroyed', computer.id);
    } catch (e) {
      this.logger.error(`Destroying computer ${computer.id} (${why}) failed: ${errorMessage(e)}`);
      this.meter.destroyFailed();
    } finally {
      this.destroying--;
      this.settleIfQuiet();
    }
  }

  stats(): PoolStats {
    return {
      size: this.total(),
      leased: this.leases.size,
      idle: this.idle.length,
      creating: this.creating,
      waiting: this.waiters.length,
      max: this.max,
      min_warm: this.settings.minWarm,
    };
  }

  metrics(): PoolMetrics {
    return this.meter.snapshot();
  }

  /** Null when the pool can give out computers; otherwise why not. */
  problem(): string | null {
    if (this.draining) return 'draining';
    if (this.consecutiveCreateFailures >= 3) return `the last ${this.consecutiveCreateFailures} computer starts failed: ${this.lastCreateError}`;
    return null;
  }

  leasesOf(owner: string): Lease[] {
    return [...this.leases.values()].map((h) => h.lease).filter((l) => l.owner === owner);
  }

  /**
   * Stops creating and fails every waiter at once; destroys the stock; waits up to `graceMs` for
   * leases to be released, then destroys what is still leased. Every computer is destroyed
   * exactly once. Safe to call more than once (later calls wait for the first).
   */
  drain(graceMs = 0): Promise<void> {
    this.drained ??= this.runDrain(graceMs);
    return this.drained;
  }

  private async runDrain(graceMs: number) {
    this.draining = true;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    for (const w of [...this.waiters]) w.fail(poolDraining());
    // Computers still starting would only be destroyed: ask their providers to stop now (one that
    // cannot stop midway delivers, and its computer is destroyed below).
    for (const c of this.createAborts) c.abort(poolDraining());
    const stock = this.idle.splice(0);
    for (const s of stock) clearTimeout(s.retire);
    await Promise.all(stock.map((s) => this.destroy(s.computer, 'drain')));
    const deadline = Date.now() + graceMs;
    while (this.leases.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(50, deadline - Date.now())));
    await Promise.all([...this.leases.values()].map((h) => this.release(h.lease)));
    // Creates and checks in flight end (aborted, or by their own timeouts); what they make is destroyed.
    if (this.total() > 0) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.quiet = { promise, resolve };
      this.settleIfQuiet();
      await promise;
    }
  }

  private settleIfQuiet() {
    if (this.quiet && this.total() === 0) this.quiet.resolve();
  }

  async onApplicationShutdown() {
    await this.drain();
  }
}
