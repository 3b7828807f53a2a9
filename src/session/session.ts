import type { Lease } from '../pool/pool.module';
import { HumanControl } from './human-control';

export type SessionKind = 'named' | 'minted' | 'default';

/**
 * Why a session ended: cleanup_session by its principal, or by an operator (sessions:admin) for another principal,
 * the idle sweep, its MCP connection closing, shutdown, or its record gone from the session registry (the sweep had
 * just claimed it, or Redis restarted without its data).
 */
/** `handed-over`: not over, only no longer here: this replica stopped and let go of it, and another carries it on. */
export type EndReason = 'cleanup' | 'operator' | 'idle' | 'connection-closed' | 'shutdown' | 'unregistered' | 'handed-over';

export interface RunningTask {
  readonly id: string;
  readonly name: string;
  readonly startedAt: number;
  readonly controller: AbortController;
  readonly done: Promise<unknown>;
}

/** One session: a principal's handle on one leased computer, and the work running on it. */
export class Session {
  lastActivity: number;
  /** When the session registry was last told of its use (SessionService), so that use a moment later need not be told again. */
  notedAt = 0;
  /**
   * A note of use the registry was sent as a call for this session arrived (SessionService.noteArrival), for the call
   * to await once it resolves the session: the round trip runs while the call is parsed and checked.
   */
  arrival?: { at: number; registered: Promise<boolean> };
  lease?: Lease;
  /** Set while the computer is being leased; callers that arrive meanwhile await it. */
  ready?: Promise<void>;
  ended = false;
  /** Why it ended, once it has. */
  endReason?: EndReason;
  /** The operator's principal, when an operator ended it ('operator'). */
  endedBy?: string;
  /** Aborted when the session ends, so every wait for one of its computers stops at once. */
  readonly lifetime = new AbortController();
  readonly tasks = new Map<string, RunningTask>();
  /** Whether a person holds control of this session's desktop (the live view); released when the session ends. */
  readonly control: HumanControl;

  constructor(
    readonly id: string,
    readonly principal: string,
    readonly kind: SessionKind,
    readonly idleTimeoutMs: number,
    /** LIVE_VIEW_CONTROL_IDLE_MS: control returns after this long without the person's input. */
    controlIdleMs: number,
    readonly createdAt = Date.now(),
    /** Told of each use (SessionService passes it on to the session registry, whose record the idle sweep reads). */
    private readonly used?: (now: number) => void,
  ) {
    this.lastActivity = createdAt;
    this.control = new HumanControl(this, controlIdleMs);
  }

  /** The session was used now: a person's input in the live view, a screenshot. */
  touch(now = Date.now()) {
    this.lastActivity = now;
    this.used?.(now);
  }
}
