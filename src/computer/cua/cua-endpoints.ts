import { backoffDelay } from '../../common/backoff';
import { errorMessage } from '../../common/domain-error';
import { CuaEndpoint, displayUrl } from './cua-urls';

export type EndpointState = 'free' | 'leased' | 'quarantined';

/** One endpoint as logs and stats show it (never its key). */
export interface EndpointStatus {
  url: string;
  state: EndpointState;
  /** When it entered this state (epoch ms). */
  since: number;
  /** Why it is quarantined. */
  reason?: string;
  /** Probes that failed since it was quarantined. */
  probes?: number;
}

export interface EndpointSlot {
  readonly endpoint: CuaEndpoint;
  readonly host: string;
  state: EndpointState;
  since: number;
  reason?: string;
  /** Order of handing out: the endpoint free for longest goes first. */
  freedAt: number;
  /** Probes that failed since it was quarantined. */
  failedProbes: number;
  probeTimer?: NodeJS.Timeout;
  /** What must succeed for a quarantined endpoint to return to service. */
  recover?: (signal: AbortSignal) => Promise<void>;
}

export interface EndpointLog {
  log(message: string): void;
  warn(message: string): void;
}

/**
 * The configured endpoints and their states: free (can be leased), leased (one session, or being
 * reset after it), quarantined (its reset or check failed; not handed out). A quarantined
 * endpoint is probed in the background, with backoff, by a timer this class owns; when its
 * recovery succeeds it is free again. stop() clears every timer and aborts a probe in flight.
 * All bookkeeping is synchronous.
 */
export class CuaEndpointPool {
  private readonly slots: EndpointSlot[];
  private readonly lifetime = new AbortController();
  private stopped = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    endpoints: readonly CuaEndpoint[],
    private readonly options: { probeBaseMs: number; probeMaxMs: number; log: EndpointLog },
  ) {
    this.slots = endpoints.map((endpoint) => ({
      endpoint,
      host: displayUrl(endpoint.url),
      state: 'free',
      since: Date.now(),
      freedAt: 0,
      failedProbes: 0,
    }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Called whenever an endpoint becomes free (after a release or a recovery). */
  onFree(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Free endpoints, longest free first (spreads sessions over the endpoints). */
  free(): EndpointSlot[] {
    return this.slots.filter((s) => s.state === 'free').sort((a, b) => a.freedAt - b.freedAt);
  }

  counts(): Record<EndpointState, number> {
    const c = { free: 0, leased: 0, quarantined: 0 };
    for (const s of this.slots) c[s.state]++;
    return c;
  }

  statuses(): EndpointStatus[] {
    return this.slots.map((s) => ({
      url: s.host,
      state: s.state,
      since: s.since,
      ...(s.state === 'quarantined' ? { reason: s.reason, probes: s.failedProbes } : {}),
    }));
  }

  private set(slot: EndpointSlot, state: EndpointState, reason?: string) {
    const was = slot.state;
    slot.state = state;
    slot.since = Date.now();
    slot.reason = reason;
    const c = this.counts();
    const summary = `(${c.free} free, ${c.leased} leased, ${c.quarantined} quarantined)`;
    if (state === 'quarantined') this.options.log.warn(`Remote computer ${slot.host}: ${was} → quarantined: ${reason} ${summary}`);
    else this.options.log.log(`Remote computer ${slot.host}: ${was} → ${state} ${summary}`);
  }

  lease(slot: EndpointSlot): void {
    if (slot.state !== 'free') throw new Error(`endpoint ${slot.host} is ${slot.state}, not free`);
    this.set(slot, 'leased');
  }

  /** Frees a slot that was leased but never used (another replica holds the computer): no notice, its turn kept. */
  unlease(slot: EndpointSlot): void {
    if (slot.state !== 'leased') return;
    slot.state = 'free';
    slot.since = Date.now();
  }

  /** The slot whose endpoint `match` picks, if any. */
  find(match: (endpoint: CuaEndpoint) => boolean): EndpointSlot | undefined {
    return this.slots.find((s) => match(s.endpoint));
  }

  release(slot: EndpointSlot): void {
    if (slot.state !== 'leased') return;
    slot.freedAt = Date.now();
    this.set(slot, 'free');
    this.notify();
  }

  /** Takes the endpoint out of service until `recover` succeeds in a background probe. */
  quarantine(slot: EndpointSlot, reason: string, recover: (signal: AbortSignal) => Promise<void>): void {
    if (slot.state === 'quarantined') return;
    slot.recover = recover;
    slot.failedProbes = 0;
    this.set(slot, 'quarantined', reason);
    this.schedule(slot);
  }

  /** Arms the next probe; returns its delay. */
  private schedule(slot: EndpointSlot): number {
    if (this.stopped) return 0;
    const delay = backoffDelay(slot.failedProbes, { baseMs: this.options.probeBaseMs, maxMs: this.options.probeMaxMs });
    slot.probeTimer = setTimeout(() => {
      slot.probeTimer = undefined;
      void this.probe(slot);
    }, delay);
    return delay;
  }

  private async probe(slot: EndpointSlot) {
    if (this.stopped || slot.state !== 'quarantined' || !slot.recover) return;
    try {
      await slot.recover(this.lifetime.signal);
    } catch (e) {
      if (this.stopped) return;
      slot.reason = `${slot.reason?.replace(/ \(last probe: .*\)$/, '')} (last probe: ${errorMessage(e)})`;
      slot.failedProbes++;
      const delay = this.schedule(slot);
      this.options.log.warn(`Remote computer ${slot.host}: still quarantined, probe ${slot.failedProbes} failed (${errorMessage(e)}); next in ${delay} ms`);
      return;
    }
    if (this.stopped || slot.state !== 'quarantined') return;
    slot.recover = undefined;
    slot.freedAt = Date.now();
    this.set(slot, 'free');
    this.notify();
  }

  private notify() {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // a listener's problem is its own
      }
    }
  }

  /** Stops every probe (timers and the one in flight). */
  stop(): void {
    this.stopped = true;
    this.lifetime.abort(new Error('the cua provider is shutting down'));
    for (const s of this.slots) {
      clearTimeout(s.probeTimer);
      s.probeTimer = undefined;
    }
  }
}
