import { Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { linkSignals, sleep, withTimeout } from '../common/async';
import { DomainError, DomainErrorCode, errorMessage, isDomainError } from '../common/domain-error';
import { addLogField } from '../common/log-context';
import { InjectSettings } from '../config/config.module';
import { parseOwner, ReplicaDirectory, SessionRegistry, ThisReplica, type RegistrySessionKind, type SessionLimits, type SessionRecord } from '../cluster/cluster.module';
import { SESSION_SETTINGS, type SessionSettings } from './session.settings';
import { CLUSTER_SETTINGS, type ClusterSettings } from '../cluster/cluster.settings';
import { POOL_SETTINGS, type PoolSettings } from '../pool/pool.settings';
import type { Computer } from '../computer/computer.module';
import { DrainState } from '../lifecycle/lifecycle.module';
import { ComputerPool, Lease } from '../pool/pool.module';
import { SessionEndedError, SessionLimitError, SessionLostError, SessionNotFoundError, shuttingDown } from './session.errors';
import { EndReason, RunningTask, Session, SessionKind } from './session';
import type { ControlReleaseReason } from './human-control';

/** Server-minted ids: "ses_" + 128 random bits. Never auto-created on use, so a guess finds nothing. */
const MINTED = /^ses_[A-Za-z0-9_-]{22}$/;
const CLIENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** How long ending a session waits for its aborted tasks to let go before releasing anyway. */
const TASK_SETTLE_MS = 5_000;
/**
 * Use that needs no answer (a person's input in the live view, a task's start and end) reaches the registry at most
 * this often per session, and at most ten times per idle timeout: the idle clock is off by no more than that.
 */
const USE_NOTE_MS = 1_000;
const noteEvery = (session: Session) => Math.min(USE_NOTE_MS, session.idleTimeoutMs / 10);
/**
 * How long a note of use sent as a call arrived (noteArrival) stands for that call's own: a call takes a few
 * milliseconds from arrival to its session; a note no call took in time is not trusted later, a fresh one is sent.
 */
const ARRIVAL_NOTE_MS = 500;
/** How many expired sessions one sweep asks the registry for at a time. */
const SWEEP_BATCH = 100;

export interface SessionRef {
  principal: string;
  /** The client's session_id argument, if any. */
  sessionId?: string;
  /** Whose default session an id-less call uses: the MCP session id (2025 era), "stdio", or the principal's key (2026 era). */
  connectionId: string;
  /**
   * The id an id-less call's default session has wherever it is served (2026 era over HTTP: one per principal, the
   * same on every replica, so any replica finds it); unset: a new one is minted when the connection has none.
   */
  defaultSessionId?: string;
}

/** The default session of a principal's 2026-era calls: the same id on every replica (one per principal; ids are per principal anyway). */
export function principalDefaultSessionId(principal: string): string {
  return `ses_${createHash('sha256').update(`default\u0000${principal}`).digest('base64url').slice(0, 22)}`;
}

/**
 * The default session of a 2025-era MCP session's calls: the same id on every replica, so the replica its next call
 * reaches finds it at once, without waiting for the MCP session's record to name it.
 */
export function connectionDefaultSessionId(mcpSessionId: string): string {
  return `ses_${createHash('sha256').update(`mcp-session\u0000${mcpSessionId}`).digest('base64url').slice(0, 22)}`;
}

export interface SessionView {
  session_id: string;
  /** Whose session it is: only in an operator's list of every principal's sessions. */
  principal?: string;
  kind: SessionKind;
  created_at: string;
  last_activity: string;
  idle_timeout_ms: number;
  active_tasks: number;
  computer: string | null;
  /** Who holds control of the desktop in the live view; null when the agent and the tools may act. */
  controlled_by: string | null;
}

/** What release_control did: on which session (if it exists), and whom it took control from (if anyone). */
export interface ControlRelease {
  /** The session addressed; undefined when the call named none and this connection has no default session yet. */
  sessionId?: string;
  /** Whether that session exists. */
  found: boolean;
  /** Who held control and lost it; undefined when nobody held it. */
  releasedFrom?: string;
}

export type { EndReason } from './session';

export interface EndResult {
  ended: boolean;
  abortedTasks: number;
  computers: string[];
}

const notEnded = (): EndResult => ({ ended: false, abortedTasks: 0, computers: [] });

export interface SessionEvents {
  /** A session was registered. */
  opened: [session: Session];
  /** A computer was leased for the session: its own (`extra` false; also a replacement for one that failed), or an extra one for concurrent tasks. */
  'computer-assigned': [session: Session, computerId: string, extra: boolean];
  /** A session went away, and why ('start-failed': its computer never started). */
  ended: [session: Session, reason: EndReason | 'start-failed'];
  /** A person took control of the session's desktop (the live view). */
  'control-taken': [session: Session, holder: string];
  /** Control of the session's desktop went back to the agent, and why. */
  'control-released': [session: Session, holder: string, reason: ControlReleaseReason];
}

/**
 * The sessions of every principal, each with its leased computer.
 *
 * What every replica may know of a session goes through the SessionRegistry port (ClusterModule): admission
 * against the caps, the record, its last use and the idle sweep's choice of expired sessions. What only this
 * process can hold stays here: the live Session (its computer's lease, running tasks, who controls its desktop),
 * the connections' default sessions, and the ids being cleaned up.
 *
 * Caps: MAX_SESSIONS in all (unset: the pool's capacity, so an admitted session never waits for a computer) and
 * MAX_SESSIONS_PER_PRINCIPAL; beyond them a new session fails at once with SESSION_LIMIT (the registry decides,
 * atomically).
 * Idle timeouts: a named or minted session ends after its idle timeout (SESSION_IDLE_TIMEOUT_MS, or what
 * create_session asked for); a default session, which a client cannot address by id and may leave behind without
 * knowing, after DEFAULT_SESSION_IDLE_TIMEOUT_MS. Any call that addresses a session counts as use; a session with a
 * running task or still getting its computer is never swept.
 */
@Injectable()
export class SessionService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SessionService.name);
  readonly events = new EventEmitter<SessionEvents>();
  private readonly sessions = new Map<string, Session>();
  /** connectionId → key of that connection's default session. */
  private readonly defaults = new Map<string, string>();
  /** Extra computers leased for concurrent tasks, by session key. */
  private readonly extraLeases = new Map<string, Set<Lease>>();
  /**
   * Sessions that cleanup_session is ending, by key, until it returns. Their id is taken meanwhile: a call for it
   * gets SESSION_ENDED instead of starting a new session (and computer) under the name being cleaned up.
   */
  private readonly closing = new Map<string, { session: Session; done: Promise<EndResult> }>();
  /** Sessions whose admission is being asked of the registry, by key: a caller for the same one joins it. */
  private readonly admitting = new Map<string, Promise<Session>>();
  /** Ended sessions whose record is still being removed from the registry, by key: a new one of that key waits. */
  private readonly leaving = new Map<string, Promise<void>>();

  constructor(
    @InjectSettings(SESSION_SETTINGS) private readonly settings: SessionSettings,
    @InjectSettings(POOL_SETTINGS) private readonly poolSettings: PoolSettings,
    private readonly pool: ComputerPool,
    private readonly drain: DrainState,
    private readonly registry: SessionRegistry,
    private readonly replica: ThisReplica,
    private readonly replicas: ReplicaDirectory,
    /** Whether replicas forward calls to each other (CLUSTER_PORT); unset counts as not. */
    @Optional() @InjectSettings(CLUSTER_SETTINGS) private readonly cluster?: ClusterSettings,
  ) {
    replica.onLeaseLost(() => this.leaseLost());
  }

  private static key(principal: string, id: string) {
    return `${principal}\u0000${id}`;
  }

  /** Says once at start when MAX_SESSIONS admits more sessions than the pool has computers for. */
  onApplicationBootstrap() {
    const { maxSessions } = this.settings;
    const capacity = this.pool.capacity();
    if (maxSessions === undefined || maxSessions <= capacity) return;
    this.logger.warn(
      `MAX_SESSIONS=${maxSessions} is above the pool's capacity of ${capacity} computers (POOL_MAX_SIZE, or the provider's own limit): ` +
        `sessions beyond ${capacity} wait up to POOL_ACQUIRE_TIMEOUT_MS (${this.poolSettings.acquireTimeoutMs} ms) for a computer and may get POOL_EXHAUSTED ` +
        `instead of SESSION_LIMIT at once. Leave MAX_SESSIONS unset to follow the pool, or raise POOL_MAX_SIZE.`,
    );
  }

  /** Most sessions at once: MAX_SESSIONS, or the pool's capacity when it is unset. */
  maxSessions(): number {
    return this.settings.maxSessions ?? this.pool.capacity();
  }

  /** Most sessions one principal may hold: MAX_SESSIONS_PER_PRINCIPAL, at most maxSessions(). */
  private maxSessionsPerPrincipal(): number {
    return Math.min(this.settings.maxSessionsPerPrincipal ?? Infinity, this.maxSessions());
  }

  private limits(): SessionLimits {
    return { maxSessions: this.maxSessions(), maxSessionsPerPrincipal: this.maxSessionsPerPrincipal() };
  }

  /** The session a tool call addresses (created on first use), with its computer leased. */
  async resolve(ref: SessionRef, signal?: AbortSignal): Promise<Session> {
    if (ref.sessionId !== undefined) {
      const id = ref.sessionId;
      if (!CLIENT_ID.test(id)) {
        throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'session_id must be 1-128 characters of letters, digits and . _ : @ -');
      }
      const key = SessionService.key(ref.principal, id);
      const closing = this.closing.get(key);
      if (closing) throw new SessionEndedError(closing.session);
      // No await before open(): a second caller for the same new id must find it admitting, and join it.
      const existing = this.existing(key);
      if (existing) return this.use(await existing, signal);
      if (MINTED.test(id)) throw new SessionNotFoundError(id);
      return this.open(ref.principal, id, 'named', this.settings.idleTimeoutMs, signal);
    }
    const known = this.defaults.get(ref.connectionId);
    const existing = known ? this.existing(known) : undefined;
    if (existing) return this.use(await existing, signal);
    // The first id-less call of this connection, or the first since its default session was swept: a fresh one.
    // Noted as the connection's default before it is admitted, so the connection's next call joins it.
    // The principal's one default session (2026 era) is found on every replica only when replicas forward calls to the
    // one holding it; sharing a registry without forwarding, each replica keeps a default session of its own.
    const shared = ref.defaultSessionId !== undefined && (!this.registry.shared || this.cluster?.forwarding !== undefined) ? ref.defaultSessionId : undefined;
    const id = shared ?? mintId();
    const key = SessionService.key(ref.principal, id);
    if (shared !== undefined) {
      const held = this.existing(key);
      if (held) {
        this.defaults.set(ref.connectionId, key);
        return this.use(await held, signal);
      }
    }
    this.defaults.set(ref.connectionId, key);
    try {
      return await this.open(ref.principal, id, 'default', this.settings.defaultIdleTimeoutMs, signal);
    } catch (e) {
      if (this.defaults.get(ref.connectionId) === key && !this.sessions.has(key)) this.defaults.delete(ref.connectionId);
      throw e;
    }
  }

  /**
   * The live session of that key, or the one being admitted under it (resolving once admitted, rejecting as its
   * admission does: a caller that joins it shares its outcome); undefined when neither.
   */
  private existing(key: string): Session | Promise<Session> | undefined {
    return this.sessions.get(key) ?? this.admitting.get(key);
  }

  /**
   * A call for this session has arrived, and will resolve it once parsed and checked: when this process holds the
   * session and the registry is shared (a round trip away), its use is noted now and the call awaits that note
   * (use()) instead of a new one, so the round trip overlaps the rest of the call's way in. False when this process
   * does not hold the session (nothing is sent).
   */
  noteArrival(principal: string, id: string): boolean {
    const session = this.sessions.get(SessionService.key(principal, id));
    if (!session || session.ended) return false;
    if (this.registry.shared) {
      const registered = this.markUsed(session);
      registered.catch(() => undefined); // awaited by use(), which reports it; unhandled if that call never comes
      session.arrival = { at: Date.now(), registered };
    }
    return true;
  }

  /** A call addresses an existing session: it counts as use, and the session's computer is waited for. */
  private async use(session: Session, signal?: AbortSignal): Promise<Session> {
    // The note sent as this call arrived, when it was (a moment ago: one that no call took is not trusted later).
    const arrival = session.arrival;
    session.arrival = undefined;
    const fresh = arrival !== undefined && Date.now() - arrival.at < ARRIVAL_NOTE_MS;
    if (!(await (fresh ? arrival.registered : this.markUsed(session)))) {
      // Its record is gone: the idle sweep claimed it a moment ago (and is ending it), or the registry lost it (Redis
      // restarted without its data). Either way the session cannot go on; it ends here at once.
      void this.endSession(session, 'unregistered'); // ends (or finds ended) the session; its own failures are logged there
      throw new SessionEndedError({ id: session.id, kind: session.kind, endReason: 'unregistered' });
    }
    return this.whenReady(session, signal);
  }

  /** Tells the registry the session is used now (or at `now`); false when the registry no longer has it. */
  private async markUsed(session: Session, now = Date.now()): Promise<boolean> {
    session.notedAt = now;
    const record = await this.registry.touch(session.principal, session.id, now);
    if (record) session.lastActivity = record.lastActivityAt;
    return record !== undefined;
  }

  /** Tells the registry of the session's use unless it heard of it less than noteEvery() ago; not awaited. */
  private noteUse(session: Session, now = Date.now()): void {
    if (session.ended || now - session.notedAt < noteEvery(session)) return;
    void this.markUsed(session, now).catch((e: unknown) => this.logger.debug(`Session ${session.id}: its use could not be noted in the session registry (${errorMessage(e)})`));
  }

  /** A new session with a server-minted, unguessable id. */
  async create(principal: string, idleTimeoutMs?: number, signal?: AbortSignal): Promise<Session> {
    const { idleTimeoutMs: def, maxIdleTimeoutMs: max } = this.settings;
    if (idleTimeoutMs !== undefined && (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs < 1000)) {
      throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, 'idle_timeout_ms must be a whole number of milliseconds, at least 1000.');
    }
    return this.open(principal, mintId(), 'minted', Math.min(idleTimeoutMs ?? def, max), signal);
  }

  /** The principal's live sessions in this process, oldest first. */
  list(principal: string): Session[] {
    return [...this.sessions.values()].filter((s) => s.principal === principal && !s.ended);
  }

  /** The principal's sessions as the registry lists them (oldest first), with what this process holds of each. */
  async views(principal: string): Promise<SessionView[]> {
    const records = await this.registry.list(principal);
    return records.map((r) => this.recordView(r, this.sessions.get(SessionService.key(r.principal, r.id))));
  }

  /**
   * The replicas other than this one that hold some of the principal's sessions (their owner tokens), as the
   * registry says; lost sessions and those whose replica is this one are left out.
   */
  async heldElsewhere(principal: string): Promise<string[]> {
    if (!this.registry.shared) return [];
    const records = await this.registry.list(principal);
    return [...new Set(records.filter((r) => r.owner !== undefined && r.owner !== this.replica.owner && !r.lost).map((r) => r.owner!))];
  }

  /**
   * Every principal's sessions as the registry lists them (oldest first, at most `limit`), each naming its principal:
   * an operator's list (sessions:admin, checked by the caller).
   */
  async allViews(limit: number): Promise<SessionView[]> {
    const records = await this.registry.listAll(limit);
    return records.map((r) => {
      const { session_id, ...rest } = this.recordView(r, this.sessions.get(SessionService.key(r.principal, r.id)));
      return { session_id, principal: r.principal, ...rest };
    });
  }

  /** How many sessions the registry holds in all. */
  async total(): Promise<number> {
    return this.registry.count();
  }

  get(principal: string, id: string): Session | undefined {
    return this.sessions.get(SessionService.key(principal, id));
  }

  count(): number {
    return this.sessions.size;
  }

  view(s: Session): SessionView {
    return this.recordView({ id: s.id, kind: s.kind, createdAt: s.createdAt, lastActivityAt: s.lastActivity, idleTimeoutMs: s.idleTimeoutMs }, s);
  }

  /** A registry record as a view, with the live parts of its session when this process holds it. */
  private recordView(r: Pick<SessionRecord, 'id' | 'kind' | 'createdAt' | 'lastActivityAt' | 'idleTimeoutMs'>, live?: Session): SessionView {
    return {
      session_id: r.id,
      kind: r.kind,
      created_at: new Date(r.createdAt).toISOString(),
      last_activity: new Date(r.lastActivityAt).toISOString(),
      idle_timeout_ms: r.idleTimeoutMs,
      active_tasks: live?.tasks.size ?? 0,
      computer: live?.lease?.computer.id ?? null,
      controlled_by: live?.control.heldBy ?? null,
    };
  }

  /** The session a call addresses, if it exists: never creates one, nor leases a computer. */
  find(ref: SessionRef): Session | undefined {
    const key = ref.sessionId !== undefined ? SessionService.key(ref.principal, ref.sessionId) : this.defaults.get(ref.connectionId);
    const session = key ? this.sessions.get(key) : undefined;
    return session && !session.ended ? session : undefined;
  }

  /**
   * release_control: hands control of the session's desktop back to the agent, from whoever holds it (a person
   * in the live view). Creates nothing: a session that does not exist has nobody to release.
   */
  releaseControl(ref: SessionRef): ControlRelease {
    const session = this.find(ref);
    if (!session) return { sessionId: ref.sessionId, found: false };
    const releasedFrom = session.control.release();
    if (releasedFrom !== undefined) this.logger.log(`Session ${session.id}: control taken back from ${releasedFrom} by release_control`);
    return { sessionId: session.id, found: true, releasedFrom };
  }

  /**
   * A new session: admitted by the registry (or SESSION_LIMIT), then its computer leased. Callers for the same key
   * meanwhile join it (see `existing`).
   */
  private async open(principal: string, id: string, kind: SessionKind, idleTimeoutMs: number, signal?: AbortSignal): Promise<Session> {
    const key = SessionService.key(principal, id);
    const admission = this.admit(principal, id, kind, idleTimeoutMs, signal);
    const admitted = admission.then((a) => a.session);
    this.admitting.set(key, admitted);
    const settled = () => {
      if (this.admitting.get(key) === admitted) this.admitting.delete(key);
    };
    admitted.then(settled, settled);
    const { started } = await admission;
    return started;
  }

  /**
   * Why a session the registry has is not in this process. Its owner is gone (or the record says so already): the
   * session is lost, its record ended here so the next call starts afresh, and the caller hears SESSION_LOST once.
   * Its owner is another live replica: serving it from here comes with forwarding between replicas.
   */
  private async elsewhere(principal: string, id: string): Promise<DomainError> {
    const record = await this.registry.get(principal, id);
    // Gone meanwhile, or this replica's own but no longer held here (it is being ended): a moment later it is free.
    if (!record || (record.owner === this.replica.owner && !record.lost)) {
      return new DomainError(DomainErrorCode.INTERNAL, `Session "${id}" was ending while this call was opening it; call again.`);
    }
    const owner = record.owner;
    if (record.lost || (owner !== undefined && !(await this.replicas.holds(owner)))) {
      await this.registry.end(principal, id);
      this.logger.warn(`Session ${id}: lost with the replica ${owner ?? '(unknown)'} that held its computer; its record is ended`);
      return new SessionLostError(id, owner === undefined ? undefined : parseOwner(owner)?.id, record.kind);
    }
    return new DomainError(
      DomainErrorCode.INTERNAL,
      `Session "${id}" is served by another server replica (${owner ? parseOwner(owner)?.id ?? owner : 'unknown'}), and this one cannot reach its computer. ` +
        'Send its calls to the replica that created it, or use another session_id.',
    );
  }

  /**
   * Asks the registry to admit the session (both caps, atomically), then holds it here and starts leasing its
   * computer in the same step, so nobody can find it without a computer on its way.
   */
  private async admit(principal: string, id: string, kind: SessionKind, idleTimeoutMs: number, signal?: AbortSignal): Promise<{ session: Session; started: Promise<Session> }> {
    if (this.drain.draining) throw shuttingDown();
    const key = SessionService.key(principal, id);
    await this.leaving.get(key);
    const result = await this.registry.admit({
      id,
      principal,
      kind: kind satisfies RegistrySessionKind,
      idleTimeoutMs,
      now: Date.now(),
      limits: this.limits(),
      owner: this.replica.owner,
    });
    if (!result.admitted) {
      if (result.refused === 'exists') {
        const adopted = await this.adoptable(principal, id);
        if (adopted) return this.hold(adopted, (session) => this.startComputer(session, signal, adopted.computer));
        throw await this.elsewhere(principal, id);
      }
      throw new SessionLimitError(result.refused, result.max, this.settings.idleTimeoutMs);
    }
    return this.hold(result.record, (session) => this.startComputer(session, signal));
  }

  /**
   * The record of a session this replica may adopt, now adopted: its owner is gone and any replica can reach its
   * computer (a remote one). Undefined when it is not such a session, or another replica adopted it first.
   */
  private async adoptable(principal: string, id: string): Promise<SessionRecord | undefined> {
    const record = await this.registry.get(principal, id);
    if (!record?.computer || record.lost || record.owner === this.replica.owner) return undefined;
    if (record.owner !== undefined && (await this.replicas.holds(record.owner))) return undefined;
    const adopted = await this.registry.adopt(principal, id, this.replica.owner);
    if (adopted) this.logger.log(`Session ${id}: adopted from the replica ${record.owner ?? '(none)'}, which is gone; its computer carries on`);
    return adopted;
  }

  /**
   * Holds an admitted (or adopted) session in this process and starts getting its computer in the same step, so
   * nobody can find it without a computer on its way.
   */
  private async hold(record: SessionRecord, start: (session: Session) => Promise<Session>): Promise<{ session: Session; started: Promise<Session> }> {
    const { principal, id, kind, idleTimeoutMs } = record;
    const key = SessionService.key(principal, id);
    if (this.drain.draining) {
      // Shutdown began while the registry answered: the drain has already listed the sessions it ends. An adopted
      // session is left as it is, for the next replica to adopt once this one has left.
      if (record.computer === undefined) await this.registry.end(principal, id).catch(() => undefined);
      throw shuttingDown();
    }
    // Use seen outside the calls that resolve sessions (a person's input in the live view, a screenshot), passed on
    // to the registry at most once a noteEvery(): a person moving the mouse is many inputs a second.
    // Not awaited by the input it comes from; a registry that does not answer is reported by its own connection.
    const session: Session = new Session(id, principal, kind, idleTimeoutMs, this.settings.controlIdleMs, record.createdAt, (now) => this.noteUse(session, now));
    this.sessions.set(key, session);
    session.control.events.on('taken', (holder) => this.events.emit('control-taken', session, holder));
    session.control.events.on('released', (holder, reason) => this.events.emit('control-released', session, holder, reason));
    this.events.emit('opened', session);
    addLogField('session', id);
    this.logger.log(`Session ${id} (${kind}) ${record.owner === this.replica.owner && record.computer ? 'taken over' : 'opened'} for ${principal}`);
    return { session, started: start(session) };
  }

  /**
   * Leases the session's computer; the session is removed again if that fails. Ending the session stops the wait
   * at once (its lifetime signal), and a computer that arrives after the end is released, never kept.
   */
  private async startComputer(session: Session, signal?: AbortSignal, adopting?: string): Promise<Session> {
    const link = linkSignals(signal, session.lifetime.signal);
    const options = { owner: session.id, principal: session.principal, signal: link.signal };
    session.ready = (adopting === undefined ? this.pool.acquire(options) : this.pool.adopt(adopting, options))
      .then(async (lease) => {
        if (session.ended) {
          await this.pool.release(lease);
          throw new SessionEndedError(session);
        }
        session.lease = lease;
        this.events.emit('computer-assigned', session, lease.computer.id, false);
        // A computer other replicas can reach: its record names it, so that the session outlives this replica.
        const handle = this.pool.handleOf(lease);
        if (handle !== undefined && handle !== adopting) {
          await this.registry.assign(session.principal, session.id, this.replica.owner, handle).catch((e: unknown) =>
            this.logger.warn(`Session ${session.id}: where its computer is could not be recorded (${errorMessage(e)}); should this replica go, the session goes with it`),
          );
        }
        // Its idle time counts from here: a slow start must not make the session look idle to the sweep. (Should the
        // registry not answer, it counts from the admission: the call still gets its computer.)
        await this.markUsed(session).catch(() => undefined);
      })
      .finally(() => {
        session.ready = undefined;
        link.dispose();
      });
    try {
      await session.ready;
      return session;
    } catch (e) {
      if (!session.lease && this.forget(session)) {
        session.control.close();
        this.events.emit('ended', session, 'start-failed');
        await this.unregister(session);
      }
      throw e;
    }
  }

  private async whenReady(session: Session, signal?: AbortSignal): Promise<Session> {
    if (session.ready) await withTimeout(session.ready, this.poolSettings.acquireTimeoutMs + 1000, () => new SessionEndedError(session), signal);
    if (session.ended) throw new SessionEndedError(session);
    if (!session.lease) return this.startComputer(session, signal);
    return session;
  }

  /** The session's computer. Throws when the session has none (ended meanwhile). */
  computerOf(session: Session): Computer {
    if (session.ended || !session.lease) throw new SessionEndedError(session);
    return session.lease.computer;
  }

  /**
   * Runs `work` on the session's computer. A session whose computer was found dead by an earlier call gets a
   * fresh one first. When `work` fails with COMPUTER_FAILED and the computer is really gone, it is released,
   * so the session's next call gets a fresh computer instead of failing forever; the error still reaches the caller.
   */
  async withComputer<T>(session: Session, work: (computer: Computer) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (session.ended) throw new SessionEndedError(session);
    if (!session.lease) await this.whenReady(session, signal);
    const lease = session.lease;
    if (!lease) throw new SessionEndedError(session);
    try {
      return await work(lease.computer);
    } catch (e) {
      if (isDomainError(e, 'COMPUTER_FAILED')) await this.recoverComputer(session, lease).catch(() => false);
      throw e;
    }
  }

  /**
   * After a COMPUTER_FAILED error on `lease` (still the session's): if its computer is really gone, release it
   * so the session's next call gets a fresh one from the pool. True when it was released.
   */
  private async recoverComputer(session: Session, lease: Lease): Promise<boolean> {
    if (session.lease !== lease) return false;
    const alive = await withTimeout(lease.computer.isAlive(), 2000, () => new Error('liveness check timed out')).catch(() => false);
    if (alive || session.lease !== lease) return false;
    this.logger.warn(`Computer ${lease.computer.id} of session ${session.id} stopped; it will be replaced on the next call`);
    session.lease = undefined;
    await this.pool.release(lease);
    return true;
  }

  /**
   * Runs `work` on an extra computer leased for the session (concurrent tasks; it counts against the principal's
   * share) and releases it afterwards. Ending the session stops the wait for it, and releases it if work is running.
   */
  async withExtraComputer<T>(session: Session, signal: AbortSignal | undefined, work: (computer: Computer) => Promise<T>): Promise<T> {
    const lease = await this.leaseExtra(session, signal);
    try {
      return await work(lease.computer);
    } finally {
      await this.releaseExtra(session, lease);
    }
  }

  /** Leases an extra computer for the session (concurrent tasks); released by releaseExtra or when the session ends. */
  private async leaseExtra(session: Session, signal?: AbortSignal): Promise<Lease> {
    if (this.drain.draining) throw shuttingDown();
    if (session.ended) throw new SessionEndedError(session);
    const link = linkSignals(signal, session.lifetime.signal);
    const lease = await this.pool.acquire({ owner: session.id, principal: session.principal, signal: link.signal }).finally(() => link.dispose());
    const key = SessionService.key(session.principal, session.id);
    if (session.ended) {
      await this.pool.release(lease);
      throw new SessionEndedError(session);
    }
    const set = this.extraLeases.get(key) ?? new Set();
    set.add(lease);
    this.extraLeases.set(key, set);
    this.events.emit('computer-assigned', session, lease.computer.id, true);
    return lease;
  }

  private async releaseExtra(session: Session, lease: Lease): Promise<void> {
    this.extraLeases.get(SessionService.key(session.principal, session.id))?.delete(lease);
    await this.pool.release(lease);
  }

  /**
   * Runs work as a task of the session: it can be aborted by the caller's signal, by ending the
   * session, or by shutdown; the session counts as busy (never swept) while it runs.
   */
  async runTask<T>(session: Session, name: string, signal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.drain.draining) throw shuttingDown();
    if (session.ended) throw new SessionEndedError(session);
    const link = linkSignals(signal);
    const id = randomUUID();
    // Its start counts as use. The call that runs it has usually just resolved (and so marked) the session; else the
    // registry is told without waiting for it, so a drain or an end that follows sees the task registered at once.
    // A failure here changes nothing: the sweep refreshes busy sessions.
    this.noteUse(session);
    const done = work(link.signal);
    const task: RunningTask = { id, name, startedAt: Date.now(), controller: link.controller, done };
    session.tasks.set(id, task);
    try {
      return await done;
    } finally {
      link.dispose();
      session.tasks.delete(id);
      // Its end counts as use too (unless the registry heard of the session a moment ago: a short call is one use, not
      // three round trips to Redis); the task's own outcome matters more than whether the registry heard of it.
      if (!session.ended && Date.now() - session.notedAt >= noteEvery(session)) await this.markUsed(session).catch(() => false);
    }
  }

  /**
   * Ends a session: aborts its tasks and its waits for computers, frees its computers, forgets it. Idempotent.
   * `by`: the operator's principal, when an operator ends another principal's session ('operator').
   * For cleanup_session the id stays taken until this returns (see `closing`); a second cleanup of the same
   * session meanwhile waits for the first and reports that there was nothing left to end.
   */
  async end(principal: string, id: string, reason: EndReason, by?: string): Promise<EndResult> {
    const key = SessionService.key(principal, id);
    const closing = this.closing.get(key);
    if (closing) {
      await closing.done.catch(() => undefined);
      return notEnded();
    }
    const session = this.sessions.get(key);
    if (!session) return notEnded();
    if (reason === 'operator' && !session.ended) session.endedBy = by;
    if (reason !== 'cleanup' && reason !== 'operator') return this.endSession(session, reason);
    const done = this.endSession(session, reason);
    this.closing.set(key, { session, done });
    try {
      return await done;
    } finally {
      if (this.closing.get(key)?.session === session) this.closing.delete(key);
    }
  }

  private async endSession(session: Session, reason: EndReason): Promise<EndResult> {
    // Two ends may race (the sweep and a call that found the record gone): the first one does the work.
    if (session.ended) return notEnded();
    session.ended = true;
    session.endReason = reason;
    if (this.forget(session)) this.events.emit('ended', session, reason);
    // Frees its place under the caps now, as the session is gone for every caller from here on.
    const unregistered = this.unregister(session);
    const tasks = [...session.tasks.values()];
    const err = reason === 'shutdown' ? shuttingDown() : new SessionEndedError(session);
    // Stops a wait for its computer (its first call's, or a concurrent task's extra one) without waiting it out.
    session.lifetime.abort(err);
    for (const t of tasks) t.controller.abort(err);
    // After the aborts, so a task waiting for its turn sees its abort, not a hand-back it could act on.
    session.control.close();
    // Aborted tasks stop at their next await; give them a bounded moment to let go of the computer.
    await withTimeout(Promise.allSettled(tasks.map((t) => t.done)), TASK_SETTLE_MS, () => new Error('tasks did not stop')).catch(() =>
      this.logger.warn(`Session ${session.id}: tasks did not stop within ${TASK_SETTLE_MS} ms; releasing the computer anyway`),
    );
    await session.ready?.catch(() => undefined);
    const key = SessionService.key(session.principal, session.id);
    const leases = [...(session.lease ? [session.lease] : []), ...(this.extraLeases.get(key) ?? [])];
    this.extraLeases.delete(key);
    session.lease = undefined;
    await Promise.all(leases.map((l) => this.pool.release(l)));
    await unregistered;
    this.logger.log(`Session ${session.id} ended (${reason}); ${tasks.length} task(s) aborted, ${leases.length} computer(s) released`);
    return { ended: true, abortedTasks: tasks.length, computers: leases.map((l) => l.computer.id) };
  }

  /**
   * Removes the session's record from the registry. Never throws: should the registry not answer, the record stays
   * until the idle sweep claims it (its computer is released either way). A new session of the same key waits.
   */
  private unregister(session: Session): Promise<void> {
    const key = SessionService.key(session.principal, session.id);
    const removed = this.registry.end(session.principal, session.id).then(
      () => undefined,
      (e: unknown) => this.logger.warn(`Session ${session.id}: its record could not be removed from the session registry (${errorMessage(e)}); the idle sweep will remove it`),
    );
    this.leaving.set(key, removed);
    void removed.then(() => {
      if (this.leaving.get(key) === removed) this.leaving.delete(key);
    });
    return removed;
  }

  /** Removes the session from this process's sessions; true when it was there. */
  private forget(session: Session): boolean {
    const key = SessionService.key(session.principal, session.id);
    const present = this.sessions.get(key) === session;
    if (present) this.sessions.delete(key);
    for (const [conn, k] of this.defaults) if (k === key) this.defaults.delete(conn);
    return present;
  }

  /**
   * Ends the default session of an MCP session that ended (DELETE, expiry). Named and minted sessions outlive them.
   * `recorded`: the default session its record names, for when this replica does not hold it: its record is ended
   * here, and the replica that holds it ends it at its next sweep (reconcile).
   */
  async endConnection(connectionId: string, recorded?: { principal: string; id: string }): Promise<void> {
    const key = this.defaults.get(connectionId) ?? (recorded && SessionService.key(recorded.principal, recorded.id));
    this.defaults.delete(connectionId);
    const session = key ? this.sessions.get(key) : undefined;
    if (session) await this.endSession(session, 'connection-closed');
    else if (recorded) await this.registry.end(recorded.principal, recorded.id);
  }

  /**
   * Ends sessions idle past their own timeout (a default session's is DEFAULT_SESSION_IDLE_TIMEOUT_MS), as the
   * registry hands them out. A session with a running task, or still getting its computer, is never swept: it is
   * marked used first, so the registry does not find it expired.
   */
  async sweep(now = Date.now()): Promise<string[]> {
    const busy = [...this.sessions.values()].filter((s) => !s.ended && (s.ready !== undefined || s.tasks.size > 0));
    await Promise.all(busy.map((s) => this.markUsed(s, now)));
    const ended: string[] = [];
    for (;;) {
      const claimed = await this.registry.claimExpired(now, SWEEP_BATCH, this.replica.owner);
      // A record without a session here is one whose session ended before its record could be removed: claimed is removed.
      const idle = claimed.map((r) => this.sessions.get(SessionService.key(r.principal, r.id))).filter((s): s is Session => s !== undefined && !s.ended);
      ended.push(...idle.map((s) => s.id));
      // A session whose replica is gone and that nobody adopted before it expired: its computer is freed from here.
      const orphans = claimed.filter((r) => r.computer !== undefined && r.owner !== this.replica.owner && !this.sessions.has(SessionService.key(r.principal, r.id)));
      await Promise.all([...idle.map((s) => this.endSession(s, 'idle')), ...orphans.map((r) => this.reclaim(r))]);
      if (claimed.length < SWEEP_BATCH) break;
    }
    await this.markLost();
    ended.push(...(await this.reconcile()));
    return ended;
  }

  /**
   * Ends the sessions this process holds whose records are gone: ended through another replica (an MCP session's
   * DELETE there, an operator's cleanup), or lost with Redis's data. Without this, such a session would keep its
   * computer until its next call. Busy ones (a task running, a computer on its way) are left to their next use.
   */
  private async reconcile(): Promise<string[]> {
    if (!this.registry.shared) return [];
    const idle = [...this.sessions.values()].filter((s) => !s.ended && s.ready === undefined && s.tasks.size === 0);
    const gone = (await Promise.all(idle.map(async (s) => ((await this.registry.get(s.principal, s.id)) ? undefined : s)))).filter((s): s is Session => s !== undefined);
    // Looked at again: one that ended, or started a task, meanwhile is not this sweep's.
    const still = gone.filter((s) => !s.ended && s.tasks.size === 0);
    await Promise.all(still.map((s) => this.endSession(s, 'unregistered')));
    if (still.length) this.logger.log(`${still.length} session(s) ended here because their records were gone: ${still.map((s) => s.id).join(', ')}`);
    return still.map((s) => s.id);
  }

  /** Frees the computer of an expired session whose replica is gone (adopt, reset, free); failures are only logged. */
  private async reclaim(r: SessionRecord): Promise<void> {
    try {
      await this.pool.reclaim(r.computer!, r.id);
      this.logger.log(`Session ${r.id} ended (idle) after its replica ${r.owner ?? '(none)'} had gone; its computer was freed here`);
    } catch (e) {
      this.logger.warn(`Session ${r.id} ended (idle) after its replica had gone; its computer could not be freed here (${errorMessage(e)}): it stays claimed until a replica takes it`);
    }
  }

  /**
   * Marks the sessions of replicas that are gone as lost (any replica may): their places count no more, and a call
   * naming one hears SESSION_LOST. Should one be this process's own (its lease ran out while it stalled), it ends here.
   */
  private async markLost(): Promise<void> {
    for (;;) {
      const lost = await this.registry.markLost(SWEEP_BATCH);
      if (lost.length) this.logger.warn(`${lost.length} session(s) lost with the replica that held their computers: ${lost.map((r) => `${r.id} (${r.owner ?? '?'})`).join(', ')}`);
      const mine = lost.map((r) => this.sessions.get(SessionService.key(r.principal, r.id))).filter((x): x is Session => x !== undefined && !x.ended);
      await Promise.all(mine.map((x) => this.endSession(x, 'unregistered')));
      if (lost.length < SWEEP_BATCH) return;
    }
  }

  /** Whether the session can outlive this replica: other replicas share the registry and can reach its computer. */
  private outlives(session: Session): boolean {
    return this.registry.shared && session.lease !== undefined && this.pool.handleOf(session.lease) !== undefined;
  }

  /**
   * Shutdown of a replica whose session another replica can take over: its tasks stop and this process lets go
   * of the computer without resetting it; the record stays, naming the computer, for the next replica it reaches.
   */
  private async handOver(session: Session, err: Error = shuttingDown()): Promise<void> {
    if (session.ended) return;
    session.ended = true;
    session.endReason = 'handed-over';
    if (this.forget(session)) this.events.emit('ended', session, 'handed-over');
    const tasks = [...session.tasks.values()];
    session.lifetime.abort(err);
    for (const t of tasks) t.controller.abort(err);
    session.control.close();
    await withTimeout(Promise.allSettled(tasks.map((t) => t.done)), TASK_SETTLE_MS, () => new Error('tasks did not stop')).catch(() => undefined);
    const key = SessionService.key(session.principal, session.id);
    const extras = [...(this.extraLeases.get(key) ?? [])];
    this.extraLeases.delete(key);
    const lease = session.lease;
    session.lease = undefined;
    await Promise.all([...(lease ? [this.pool.detach(lease)] : []), ...extras.map((l) => this.pool.release(l))]);
    this.logger.log(`Session ${session.id} handed over: its computer stays for the next replica it reaches; ${tasks.length} task(s) stopped`);
  }

  /**
   * This replica's lease ran out (it stalled, or could not reach Redis, for longer than REPLICA_LEASE_MS): the other
   * replicas have counted it gone, and one may have taken over a session whose computer is remote, and even ended it
   * and leased that computer to another session. Such sessions are let go of at once, their tasks stopped, their
   * computers neither reset nor touched again from here; the others end (the other replicas count them lost).
   */
  private async leaseLost(): Promise<void> {
    const held = [...this.sessions.values()].filter((s) => !s.ended);
    if (!held.length) return;
    const remote = held.filter((s) => this.outlives(s));
    this.logger.warn(`This replica's lease ran out: letting go of ${remote.length} session(s) another replica may carry on, ending ${held.length - remote.length} other(s)`);
    await Promise.all(
      held.map((s) => (remote.includes(s) ? this.handOver(s, new SessionEndedError({ id: s.id, kind: s.kind, endReason: 'handed-over' })) : this.endSession(s, 'unregistered'))),
    );
  }

  /** Sessions whose desktop a person controls now. */
  underHumanControl(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.control.heldBy !== undefined) n++;
    return n;
  }

  runningTasks(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.tasks.size;
    return n;
  }

  /**
   * Shutdown: refuse new work, let running tasks finish for up to `graceMs`, abort the rest,
   * then end every session (releasing every computer) and leave the replica directory.
   */
  async drainAll(graceMs: number): Promise<{ finished: number; aborted: number }> {
    this.drain.start();
    const all = () => [...this.sessions.values()].flatMap((s) => [...s.tasks.values()]);
    const before = all().length;
    const deadline = Date.now() + graceMs;
    while (all().length && Date.now() < deadline) await sleep(Math.min(100, deadline - Date.now()));
    const left = all().length;
    await Promise.all([...this.sessions.values()].map((s) => (this.outlives(s) ? this.handOver(s) : this.endSession(s, 'shutdown'))));
    // Nothing of this replica's is left in the registry: the others may count it gone at once.
    await this.replica.leave();
    if (before) this.logger.log(`Drain: ${before - left} task(s) finished within the grace period, ${left} aborted`);
    return { finished: before - left, aborted: left };
  }
}

function mintId(): string {
  return `ses_${randomBytes(16).toString('base64url')}`;
}
