import type { InMemoryReplicaDirectory } from './replica-directory';

/** Who holds a remote computer (a replica incarnation's owner token, `id@epoch`), and what its provider keeps with it. */
export interface ComputerClaim {
  readonly holder: string;
  /**
   * The provider's own note about the computer, as text (e.g. what the desktop looked like when its lease began, so
   * that whoever resets it later knows what to remove). Opaque to the claims.
   */
  readonly state?: string;
}

export type TakeResult =
  /** `previous`: the claim of a holder that is gone: the computer may hold what that holder's session left on it. */
  | { readonly taken: true; readonly previous?: ComputerClaim }
  | { readonly taken: false; readonly holder: string };

/**
 * Which replica holds each remote computer (port). Remote computers (a provider's fixed endpoints) are reachable
 * from every replica, so without one shared answer two replicas could hand one computer to two sessions. A
 * computer is named by its handle (provider-made, e.g. `cua:<url>`), the same one a session record names
 * (SessionRegistry.assign).
 *
 * A claim whose holder is gone (its lease in the ReplicaDirectory ran out, or it left) is free again, except while
 * a session's record names the computer: that session waits to be adopted with it (adopt).
 *
 * Backends: InMemoryComputerClaims (one process) and RedisComputerClaims (REDIS_URL). A backend that cannot be
 * reached fails at once with REGISTRY_UNAVAILABLE.
 */
export abstract class ComputerClaims {
  /**
   * Claims the computer for `holder` when nobody holds it, or when its holder is gone and no session's record names
   * it. Taking it from a gone holder returns that holder's claim (`previous`).
   */
  abstract take(handle: string, holder: string): Promise<TakeResult>;

  /**
   * Claims the computer of a session being adopted: like take, but a session's record naming it does not stop it
   * (that session is the one being adopted, after SessionRegistry.adopt chose this replica).
   */
  abstract adopt(handle: string, holder: string): Promise<TakeResult>;

  /** Keeps `state` with the claim; false when `holder` does not hold it. */
  abstract keep(handle: string, holder: string, state: string): Promise<boolean>;

  /** Frees the computer; false when `holder` did not hold it. */
  abstract release(handle: string, holder: string): Promise<boolean>;

  /** The claim on that computer, if any. */
  abstract get(handle: string): Promise<ComputerClaim | undefined>;
}

/**
 * The claims in this process's memory (no REDIS_URL): one process, so its holders are alive for as long as it is.
 * Tests standing several replicas on one store give it their in-memory directory, and what the registry says of
 * the computers sessions name (`named`).
 */
export class InMemoryComputerClaims extends ComputerClaims {
  private readonly claims = new Map<string, ComputerClaim>();

  constructor(
    private readonly directory?: InMemoryReplicaDirectory,
    private readonly named: (handle: string) => boolean = () => false,
  ) {
    super();
  }

  async take(handle: string, holder: string): Promise<TakeResult> {
    return this.claim(handle, holder, false);
  }

  async adopt(handle: string, holder: string): Promise<TakeResult> {
    return this.claim(handle, holder, true);
  }

  private claim(handle: string, holder: string, adopting: boolean): TakeResult {
    const current = this.claims.get(handle);
    if (current && current.holder !== holder && (this.alive(current.holder) || (!adopting && this.named(handle)))) return { taken: false, holder: current.holder };
    this.claims.set(handle, { holder, ...(current?.state !== undefined && { state: current.state }) });
    return current && current.holder !== holder ? { taken: true, previous: { ...current } } : { taken: true };
  }

  async keep(handle: string, holder: string, state: string): Promise<boolean> {
    if (this.claims.get(handle)?.holder !== holder) return false;
    this.claims.set(handle, { holder, state });
    return true;
  }

  async release(handle: string, holder: string): Promise<boolean> {
    if (this.claims.get(handle)?.holder !== holder) return false;
    this.claims.delete(handle);
    return true;
  }

  async get(handle: string): Promise<ComputerClaim | undefined> {
    const c = this.claims.get(handle);
    return c && { ...c };
  }

  private alive(holder: string): boolean {
    return this.directory ? this.directory.holdsNow(holder) : true;
  }
}
