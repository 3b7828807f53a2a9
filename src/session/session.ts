import type { Lease } from '../pool/pool.module';

export type SessionKind = 'named' | 'minted' | 'default';

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
  lease?: Lease;
  /** Set while the computer is being leased; callers that arrive meanwhile await it. */
  ready?: Promise<void>;
  ended = false;
  readonly tasks = new Map<string, RunningTask>();

  constructor(
    readonly id: string,
    readonly principal: string,
    readonly kind: SessionKind,
    readonly idleTimeoutMs: number,
    readonly createdAt = Date.now(),
  ) {
    this.lastActivity = createdAt;
  }

  touch(now = Date.now()) {
    this.lastActivity = now;
  }

  idleFor(now = Date.now()) {
    return now - this.lastActivity;
  }
}
