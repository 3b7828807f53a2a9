import { backoffDelay } from '../../common/backoff';

/**
 * The list-then-watch protocol of the Kubernetes API, as a small state machine (pure; the HTTP
 * side is in resource-watch.ts):
 * - list first, remember the list's resourceVersion;
 * - watch from there with bookmarks on; every event and bookmark moves the cursor on;
 * - a watch that ends (server timeout, dropped connection) resumes from the last resourceVersion;
 * - a 410 Gone (as an HTTP status or an ERROR event) means that version is too old: list again;
 * - failures in a row back off (doubling, capped, jittered); any progress resets the backoff.
 */
export type WatchStep = { kind: 'list' } | { kind: 'watch'; resourceVersion: string };

export interface WatchEventObject {
  metadata?: { resourceVersion?: string };
  /** Set on ERROR events, which carry a Status. */
  code?: number;
  reason?: string;
  message?: string;
}

export type EventVerdict = 'apply' | 'bookmark' | 'expired' | 'error';

export class WatchCursor {
  private resourceVersion?: string;
  private relist = true;
  private failures = 0;

  constructor(
    private readonly baseDelayMs = 250,
    private readonly maxDelayMs = 10_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): WatchStep {
    return this.relist || this.resourceVersion === undefined ? { kind: 'list' } : { kind: 'watch', resourceVersion: this.resourceVersion };
  }

  /** A list succeeded at this version. */
  listed(resourceVersion: string) {
    this.resourceVersion = resourceVersion;
    this.relist = false;
    this.failures = 0;
  }

  /** One watch event; says what to do with it. */
  event(type: string, object: WatchEventObject | undefined): EventVerdict {
    if (type === 'ERROR') {
      if (object?.code === 410 || object?.reason === 'Expired' || object?.reason === 'Gone') {
        this.relist = true;
        return 'expired';
      }
      return 'error';
    }
    const rv = object?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    this.failures = 0;
    return type === 'BOOKMARK' ? 'bookmark' : 'apply';
  }

  /** The watch (or list) ended; `error` when it failed. A 410 forces a new list. */
  ended(error?: unknown) {
    if (!error) return;
    if (statusCodeOf(error) === 410) this.relist = true;
    this.failures++;
  }

  /** How long to wait before the next step: 0 after a clean end, backing off after failures. */
  delayMs(): number {
    if (this.failures === 0) return 0;
    return backoffDelay(this.failures - 1, { baseMs: this.baseDelayMs, maxMs: this.maxDelayMs }, this.random);
  }

  get version(): string | undefined {
    return this.resourceVersion;
  }
}

/** The HTTP status an error of @kubernetes/client-node carries (`code` on ApiException, `statusCode` on watch errors). */
export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}
