import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { linkSignals, withTimeout } from '../common/async';
import { abortReason, DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { AppConfig } from '../config/config.module';
import { Computer, ComputerProviderRegistry } from '../computer/computer.module';
import { poolDraining, poolExhausted } from './pool.errors';

export interface Lease {
  readonly id: string;
  readonly computer: Computer;
  /** Who holds it (a session id), for logs and leak reports. */
  readonly owner: string;
  readonly leasedAt: number;
}

export interface AcquireOptions {
  owner: string;
  signal?: AbortSignal;
  /** Defaults to POOL_ACQUIRE_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface PoolStats {
  size: number;
  leased: number;
  idle: number;
  creating: number;
  waiting: number;
  max: number;
}

interface Waiter {
  /** Hands the waiter a slot (already counted in `creating`). */
  grant: () => void;
  fail: (e: Error) => void;
}

/**
 * A bounded pool of computers. A slot is taken by every computer being created or leased;
 * callers beyond POOL_MAX_SIZE wait in FIFO order for at most the acquire timeout, and an
 * aborted wait leaves the queue at once. A released computer is destroyed, never handed to
 * another session (no dirty reuse). No lock is ever held across an await.
 */
@Injectable()
export class ComputerPool implements OnApplicationShutdown {
  private readonly logger = new Logger(ComputerPool.name);
  private readonly leases = new Map<string, Lease>();
  private readonly waiters: Waiter[] = [];
  private creating = 0;
  private destroying = 0;
  private draining = false;
  private drained?: Promise<void>;
  private consecutiveCreateFailures = 0;
  private lastCreateError?: string;

  constructor(
    private readonly config: AppConfig,
    private readonly computers: ComputerProviderRegistry,
  ) {}

  private get max() {
    return this.config.pool.maxSize;
  }

  private inUse() {
    return this.leases.size + this.creating + this.destroying;
  }

  async acquire(options: AcquireOptions): Promise<Lease> {
    if (this.draining) throw poolDraining();
    if (options.signal?.aborted) throw abortReason(options.signal, 'Waiting for a computer');
    await this.takeSlot(options); // on return, a slot is reserved in `creating`
    const link = linkSignals(options.signal);
    let computer: Computer;
    try {
      const { createTimeoutMs } = this.config.pool;
      computer = await withTimeout(
        this.computers.create({ signal: link.signal }),
        createTimeoutMs,
        () => {
          const e = new DomainError(DomainErrorCode.COMPUTER_FAILED, `Starting a computer took longer than ${createTimeoutMs} ms (POOL_CREATE_TIMEOUT_MS).`);
          link.controller.abort(e);
          return e;
        },
        link.signal,
      );
    } catch (e) {
      this.creating--;
      this.consecutiveCreateFailures += abortedBy(options.signal, e) ? 0 : 1;
      this.lastCreateError = errorMessage(e);
      this.wakeNext();
      if (e instanceof DomainError) throw e;
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Could not start a computer: ${errorMessage(e)}`, { cause: e });
    } finally {
      link.dispose();
    }
    this.creating--;
    this.consecutiveCreateFailures = 0;
    const lease: Lease = { id: randomUUID(), computer, owner: options.owner, leasedAt: Date.now() };
    if (this.draining || options.signal?.aborted) {
      // Nobody can take it any more: free it rather than leak it.
      this.leases.set(lease.id, lease);
      await this.release(lease);
      throw this.draining ? poolDraining() : abortReason(options.signal!, 'Waiting for a computer');
    }
    this.leases.set(lease.id, lease);
    return lease;
  }

  /** Waits (FIFO, bounded, abortable) until a slot is free, and reserves it in `creating`. */
  private takeSlot(options: AcquireOptions): Promise<void> {
    if (this.inUse() < this.max && this.waiters.length === 0) {
      this.creating++;
      return Promise.resolve();
    }
    const timeoutMs = options.timeoutMs ?? this.config.pool.acquireTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const waiter: Waiter = {
        grant: () =>
          settle(() => {
            this.creating++;
            resolve();
          }),
        fail: (e) => settle(() => reject(e)),
      };
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        fn();
      };
      const onAbort = () => settle(() => reject(abortReason(options.signal!, 'Waiting for a computer')));
      const timer = setTimeout(() => settle(() => reject(poolExhausted(timeoutMs, this.max))), timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private wakeNext() {
    // grant() removes the waiter from the queue and reserves its slot synchronously.
    while (this.waiters.length && this.inUse() < this.max) this.waiters[0].grant();
  }

  /** Destroys a leased computer (bounded by POOL_DESTROY_TIMEOUT_MS) and frees its slot. Idempotent. */
  async release(lease: Lease): Promise<void> {
    if (!this.leases.delete(lease.id)) return;
    this.destroying++;
    try {
      await this.destroy(lease.computer);
    } finally {
      this.destroying--;
      this.wakeNext();
    }
  }

  private async destroy(computer: Computer) {
    const { destroyTimeoutMs } = this.config.pool;
    try {
      await withTimeout(computer.close(), destroyTimeoutMs, () => new Error(`close() took longer than ${destroyTimeoutMs} ms`));
    } catch (e) {
      this.logger.error(`Destroying computer ${computer.id} failed: ${errorMessage(e)}`);
    }
  }

  stats(): PoolStats {
    return { size: this.leases.size + this.creating, leased: this.leases.size, idle: 0, creating: this.creating, waiting: this.waiters.length, max: this.max };
  }

  /** Null when the pool can give out computers; otherwise why not. */
  problem(): string | null {
    if (this.draining) return 'draining';
    if (this.consecutiveCreateFailures >= 3) return `the last ${this.consecutiveCreateFailures} computer starts failed: ${this.lastCreateError}`;
    return null;
  }

  leasesOf(owner: string): Lease[] {
    return [...this.leases.values()].filter((l) => l.owner === owner);
  }

  /**
   * Stops giving out computers, fails every waiter at once, and destroys every computer still
   * leased, exactly once. Call after sessions have had their grace period. Safe to call twice.
   */
  drain(): Promise<void> {
    this.draining = true;
    for (const w of [...this.waiters]) w.fail(poolDraining());
    this.drained ??= (async () => {
      await Promise.all([...this.leases.values()].map((l) => this.release(l)));
    })();
    return this.drained;
  }

  async onApplicationShutdown() {
    await this.drain();
    // Leases created after the first drain started (none expected) are destroyed too.
    await Promise.all([...this.leases.values()].map((l) => this.release(l)));
  }
}

function abortedBy(signal: AbortSignal | undefined, e: unknown) {
  return !!signal?.aborted && e instanceof DomainError && e.code === DomainErrorCode.CANCELLED;
}
