import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { abortReason, DomainError, DomainErrorCode, errorMessage } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { CUA_SETTINGS, type CuaSettings } from './cua.settings';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../computer.settings';
import { POOL_SETTINGS, type PoolSettings } from '../../pool/pool.settings';
import { ComputerClaims, ThisReplica, type TakeResult } from '../../cluster/cluster.module';
import { Computer, ComputerProvider, CreateComputerOptions } from '../computer.port';
import { RegisterComputerProvider } from '../computer-provider.registry';
import { CuaComputer } from './cua-computer';
import { CuaEndpointPool, EndpointSlot, EndpointState, EndpointStatus } from './cua-endpoints';
import { LeasedCuaComputer, LeaseUse } from './cua-lease';
import { commandReset, CuaBaseline, defaultReset, recordBaseline } from './cua-reset';
import { cuaKindOf } from './cua-errors';
import type { CuaEndpoint } from './cua-urls';

/** What a session record and a claim name a remote computer by: `cua:` and its URL without credentials. */
export function cuaHandle(endpoint: Pick<CuaEndpoint, 'url'>): string {
  const u = new URL(endpoint.url);
  u.username = '';
  u.password = '';
  return `cua:${u.href.replace(/\/+$/, '')}`;
}

/** A baseline as a claim keeps it (text), and back. */
function baselineText(b: CuaBaseline | undefined): string {
  return JSON.stringify(b ? { windows: b.windows && [...b.windows], files: b.files && [...b.files], home: b.home } : {});
}
function baselineOf(text: string | undefined): CuaBaseline | undefined {
  if (!text) return undefined;
  try {
    const o = JSON.parse(text) as { windows?: string[]; files?: string[]; home?: string };
    return { windows: o.windows && new Set(o.windows), files: o.files && new Set(o.files), home: o.home };
  } catch {
    return undefined;
  }
}

/** Probes of a quarantined endpoint: doubling from 1 s to 30 s, with jitter. */
const PROBE_BASE_MS = 1_000;
const PROBE_MAX_MS = 30_000;

/**
 * COMPUTER_PROVIDER=cua: remote computers, one per cua computer-server in CUA_COMPUTER_URLS.
 *
 * Lifecycle of an endpoint: create() leases a free one (the one free longest), connects and
 * checks it (version, GET /commands, get_screen_size), records what the desktop looks like
 * (windows, files in the scratch folders) and hands it out. close() of that computer resets the
 * desktop (CUA_RESET_COMMAND, or the default reset: see cua-reset.ts), checks it again and frees
 * the endpoint; when the reset or the check fails the endpoint is quarantined, and a background
 * probe (backoff 1 s → 30 s) returns it to service once it answers and its reset succeeds.
 * Endpoints come only from settings: no call can make the server connect anywhere else.
 *
 * Several replicas share the endpoints through ComputerClaims: an endpoint is leased here only once this replica
 * holds its claim, so no two replicas hand one computer out. A session's record names its endpoint (handleOf), so
 * when this replica goes, another adopts the session with its desktop as it was (adopt); an endpoint left by a
 * replica that is gone, with no session waiting for it, is reset (with the baseline its claim kept) before reuse.
 */
@Injectable()
@RegisterComputerProvider()
export class CuaComputerProvider extends ComputerProvider implements OnApplicationShutdown {
  readonly name = 'cua';
  private readonly logger = new Logger('CuaComputerProvider');
  private pool?: CuaEndpointPool;
  private readonly open = new Set<LeasedCuaComputer>();
  private stopping = false;

  constructor(@InjectSettings(CUA_SETTINGS) private readonly settings: CuaSettings,
    @InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
    @InjectSettings(POOL_SETTINGS) private readonly poolSettings: PoolSettings,
    private readonly claims: ComputerClaims,
    private readonly replica: ThisReplica) {
    super();
  }

  override handleOf(computer: Computer): string | undefined {
    return computer instanceof LeasedCuaComputer ? cuaHandle(computer.inner.endpoint) : undefined;
  }

  /** One session per remote computer: the pool never has more computers than URLs. */
  override capacity(): number | undefined {
    return this.settings.urls.length || undefined;
  }

  /** The endpoints (made on first use, so an unused provider holds nothing). */
  private endpoints(): CuaEndpointPool {
    this.pool ??= new CuaEndpointPool(
      this.settings.urls.map((url) => ({ url, apiKey: this.settings.apiKey, containerName: this.settings.containerName })),
      { probeBaseMs: PROBE_BASE_MS, probeMaxMs: PROBE_MAX_MS, log: { log: (m) => this.logger.log(m), warn: (m) => this.logger.warn(m) } },
    );
    return this.pool;
  }

  override async checkReady(): Promise<void> {
    const { urls, resetCommand } = this.settings;
    if (!urls.length) {
      throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'COMPUTER_PROVIDER=cua needs CUA_COMPUTER_URLS: the base URLs of the cua computer-servers, e.g. http://10.0.0.5:8000.');
    }
    const pool = this.endpoints();
    this.logger.log(
      `Remote computers: ${pool.statuses().map((s) => s.url).join(', ')}; at most ${Math.min(this.poolSettings.maxSize, urls.length)} at once (POOL_MAX_SIZE, and one per URL), ` +
        `reset between sessions: ${resetCommand ? 'CUA_RESET_COMMAND' : 'default (new windows closed, new files under home and /tmp removed)'}.`,
    );
  }

  /** How many endpoints are free, leased and quarantined (for metrics); undefined while the provider is unused. */
  endpointCounts(): Record<EndpointState, number> | undefined {
    return this.pool?.counts();
  }

  /** Every endpoint's state, for logs and diagnostics. */
  statuses(): EndpointStatus[] {
    return this.endpoints().statuses();
  }

  async create(options: CreateComputerOptions): Promise<LeasedCuaComputer> {
    const pool = this.endpoints();
    const failures: string[] = [];
    const holder = await this.replica.joined();
    let elsewhere = 0;
    for (const slot of pool.free()) {
      if (options.signal?.aborted) throw abortReason(options.signal, 'Connecting to a remote computer');
      if (slot.state !== 'free') continue; // leased by a concurrent create meanwhile
      pool.lease(slot);
      const handle = cuaHandle(slot.endpoint);
      let claim: TakeResult;
      try {
        claim = await this.claims.take(handle, holder);
      } catch (e) {
        pool.unlease(slot);
        throw e;
      }
      if (!claim.taken) {
        // Another replica holds it (or keeps it for a session of its that waits to be taken over).
        pool.unlease(slot);
        elsewhere++;
        continue;
      }
      const left = claim.previous && baselineOf(claim.previous.state);
      try {
        // Left by a replica that is gone, with no session waiting for it: whatever that session left goes first.
        if (claim.previous) await this.recover(slot, left, options.signal ?? new AbortController().signal, true);
        return await this.connect(slot, options.signal);
      } catch (e) {
        if (options.signal?.aborted) {
          // Not the endpoint's fault: it goes back as it was (nothing was done on it yet).
          pool.release(slot);
          await this.claims.release(handle, holder).catch(() => undefined);
          throw abortReason(options.signal, 'Connecting to a remote computer');
        }
        failures.push(`${slot.host}: ${errorMessage(e)}`);
        pool.quarantine(slot, `it failed its check before a lease: ${errorMessage(e)}`, (signal) => this.recoverAndFree(slot, left, signal, claim.previous !== undefined));
      }
    }
    const c = pool.counts();
    if (failures.length || (c.leased === 0 && elsewhere === 0)) {
      const quarantined = pool.statuses().filter((s) => s.state === 'quarantined').map((s) => `${s.url} (${s.reason})`);
      throw new DomainError(
        DomainErrorCode.COMPUTER_FAILED,
        `No remote computer could be used: ${failures.length ? failures.join('; ') : `all ${pool.size} are quarantined: ${quarantined.join('; ')}`}. ` +
          'Quarantined computers return to service by themselves once they answer again; check that the cua computer-servers in CUA_COMPUTER_URLS are running.',
      );
    }
    // Busy, not broken: the pool waits for one to come back (this code keeps readiness green).
    throw new DomainError(
      DomainErrorCode.POOL_EXHAUSTED,
      `All ${pool.size} remote computers (CUA_COMPUTER_URLS) are in use or being reset (${c.leased} leased and ${c.quarantined} quarantined here` +
        `${elsewhere ? `, ${elsewhere} held by other replicas` : ''}); each serves one session at a time.`,
    );
  }

  /**
   * Takes over the computer of a session adopted from a replica that is gone: claims it (SessionRegistry.adopt has
   * already chosen this replica for the session), connects, and keeps the baseline its first lease recorded, so
   * that its reset at the end of the session still knows what the session added.
   */
  override async adopt(handle: string, options: CreateComputerOptions): Promise<Computer> {
    const pool = this.endpoints();
    const slot = pool.find((e) => cuaHandle(e) === handle);
    if (!slot) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `The session's remote computer (${handle}) is not one of CUA_COMPUTER_URLS here; it cannot be taken over.`);
    }
    if (slot.state !== 'free') throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `The session's remote computer ${slot.host} is ${slot.state} here; it cannot be taken over now.`);
    const holder = await this.replica.joined();
    pool.lease(slot);
    let claim: TakeResult;
    try {
      claim = await this.claims.adopt(handle, holder);
    } catch (e) {
      pool.unlease(slot);
      throw e;
    }
    if (!claim.taken) {
      pool.unlease(slot);
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `The session's remote computer ${slot.host} is held by the replica ${claim.holder}.`);
    }
    const baseline = baselineOf(claim.previous?.state ?? (await this.claims.get(handle).catch(() => undefined))?.state);
    try {
      return await this.connect(slot, options.signal, { baseline });
    } catch (e) {
      pool.quarantine(slot, `it could not be reached when its session was taken over: ${errorMessage(e)}`, (signal) => this.recoverAndFree(slot, baseline, signal, true));
      throw e;
    }
  }

  /** A quarantined endpoint's recovery, then its claim freed for every replica. */
  private async recoverAndFree(slot: EndpointSlot, baseline: CuaBaseline | undefined, signal: AbortSignal, closeWindows: boolean): Promise<void> {
    await this.recover(slot, baseline, signal, closeWindows);
    await this.claims.release(cuaHandle(slot.endpoint), await this.replica.joined());
  }

  private async connect(slot: EndpointSlot, signal?: AbortSignal, adopted?: { baseline: CuaBaseline | undefined }): Promise<LeasedCuaComputer> {
    const cua = this.settings;
    const inner = await CuaComputer.connect(slot.endpoint, {
      requestTimeoutMs: cua.requestTimeoutMs,
      signal,
      id: `cua-${randomUUID().slice(0, 8)}`,
      provider: this.name,
      commandTimeoutMs: this.computer.commandTimeoutMs,
      commandOutputLimitBytes: Math.max(this.computer.commandOutputLimitBytes, 4 * 1024 * 1024),
      settleDelayMs: cua.settleDelayMs,
    });
    let baseline: CuaBaseline | undefined = adopted?.baseline;
    if (!adopted) {
      try {
        baseline = cua.resetCommand ? undefined : await recordBaseline(inner, cua.requestTimeoutMs);
      } catch (e) {
        await inner.close();
        throw e;
      }
      // With the claim, for whoever resets the desktop should this replica go first. Only that needs it: a failure is no reason to refuse the lease.
      const holder = await this.replica.joined();
      await this.claims.keep(cuaHandle(slot.endpoint), holder, baselineText(baseline)).catch((e: unknown) => this.logger.warn(`Remote computer ${slot.host}: its baseline could not be kept with its claim (${errorMessage(e)})`));
    }
    const computer: LeasedCuaComputer = new LeasedCuaComputer(
      inner,
      (use) => this.giveBack(slot, computer, baseline, use),
      () => this.letGo(slot, computer),
      adopted !== undefined,
    );
    this.open.add(computer);
    const info = inner.info;
    this.logger.log(`Computer ${computer.id} is ${slot.host} (${info.transport}${info.package ? `, server ${info.package}` : ''}${info.commands ? '' : ', no /commands: older server'}).`);
    return computer;
  }

  /** detach() of a leased computer: this process lets go of it as it is; its claim stays for the replica that adopts its session. */
  private async letGo(slot: EndpointSlot, computer: LeasedCuaComputer): Promise<void> {
    try {
      await computer.inner.close();
    } finally {
      this.endpoints().unlease(slot);
      this.open.delete(computer);
      this.logger.log(`Remote computer ${slot.host}: let go as it is, for the replica that takes its session over`);
    }
  }

  /** close() of a leased computer: reset, check, then free the endpoint (and its claim), or quarantine it. */
  private async giveBack(slot: EndpointSlot, computer: LeasedCuaComputer, baseline: CuaBaseline | undefined, use: LeaseUse): Promise<void> {
    const pool = this.endpoints();
    const free = async () => {
      pool.release(slot);
      await this.claims.release(cuaHandle(slot.endpoint), await this.replica.joined()).catch((e: unknown) =>
        this.logger.warn(`Remote computer ${slot.host}: its claim could not be freed (${errorMessage(e)}); other replicas get it once this one is gone`),
      );
    };
    try {
      if (use.touched) await this.reset(computer.inner, baseline, use, true);
      if (!(await computer.inner.isAlive())) throw new Error('it did not answer get_screen_size after the reset');
      await free();
    } catch (e) {
      // After a lost connection the desktop may have restarted: its window ids mean nothing any more.
      const lost = ['closed', 'unreachable', 'timeout'].includes(cuaKindOf(e) ?? '');
      if (this.stopping) await free();
      else pool.quarantine(slot, `its reset after ${computer.id} failed: ${errorMessage(e)}`, (signal) => this.recoverAndFree(slot, use.touched ? baseline : undefined, signal, !lost));
    } finally {
      await computer.inner.close();
      this.open.delete(computer);
    }
  }

  private async reset(inner: CuaComputer, baseline: CuaBaseline | undefined, use: LeaseUse, closeWindows: boolean) {
    const cua = this.settings;
    // Keys and buttons the session left pressed would stick for the next one.
    if (use.heldKeys.length) await inner.setKeys(use.heldKeys, false);
    for (const b of use.heldButtons) await inner.mouseUp(b);
    const report = cua.resetCommand
      ? await commandReset(inner, cua.resetCommand, this.computer.commandTimeoutMs)
      : await defaultReset(inner, baseline ?? {}, cua.requestTimeoutMs, closeWindows);
    this.logger.log(
      `Reset ${inner.host} after ${inner.id}: ${report.notes.includes('CUA_RESET_COMMAND') ? 'CUA_RESET_COMMAND exited 0' : `${report.windowsClosed} windows closed, ${report.pathsRemoved} files or folders removed`}` +
        `${report.notes.filter((n) => n !== 'CUA_RESET_COMMAND').map((n) => `; ${n}`).join('')}.`,
    );
  }

  /** A quarantined endpoint's probe: connect, redo the reset it missed, check. */
  private async recover(slot: EndpointSlot, baseline: CuaBaseline | undefined, signal: AbortSignal, closeWindows = false): Promise<void> {
    const cua = this.settings;
    const inner = await CuaComputer.connect(slot.endpoint, { requestTimeoutMs: cua.requestTimeoutMs, signal, id: `cua-probe-${randomUUID().slice(0, 8)}`, provider: this.name });
    try {
      if (baseline || cua.resetCommand) await this.reset(inner, baseline, { touched: true, heldKeys: [], heldButtons: [] }, closeWindows);
      if (!(await inner.isAlive())) throw new Error('it did not answer get_screen_size');
    } finally {
      await inner.close();
    }
  }

  /** Stops the probes; computers still leased are handed back (reset) by the pool's drain, or closed here. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.pool?.stop();
    await Promise.allSettled([...this.open].map((c) => c.close()));
  }
}
