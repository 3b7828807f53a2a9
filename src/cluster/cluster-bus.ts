import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { errorMessage } from '../common/domain-error';

/** Bounds of a cancel notice: a notice beyond them is not sent (nor, arriving, believed). */
export const CANCEL_NOTICE_LIMITS = {
  /** Request ids in one notice. */
  requestIds: 50,
  /** Characters of a string request id, of the Mcp-Session-Id and of the principal. */
  idChars: 200,
  principalChars: 1_000,
  /** Characters of the client's reason (longer ones are cut, not refused). */
  reasonChars: 200,
} as const;

/**
 * A 2025-era client's `notifications/cancelled`, for every replica. That notification is a POST of its own, so it
 * can reach another replica than the one running the call it names: the receiving replica sends this, and each
 * replica stops the calls of that MCP session and principal with those JSON-RPC ids that run there.
 */
export interface CancelNotice {
  /** The Mcp-Session-Id the calls came in. */
  readonly mcpSession: string;
  /** The JSON-RPC ids of the requests to stop. */
  readonly requestIds: readonly (string | number)[];
  /** The MCP session's principal (the receiving replica checked it): only that principal's calls stop. */
  readonly principal: string;
  /** What the client said of why, if anything. */
  readonly reason?: string;
}

const L = CANCEL_NOTICE_LIMITS;
const cancelNoticeSchema = z.object({
  mcpSession: z.string().min(1).max(L.idChars),
  requestIds: z
    .array(z.union([z.string().max(L.idChars), z.number().finite()]))
    .min(1)
    .max(L.requestIds),
  principal: z.string().min(1).max(L.principalChars),
  reason: z.string().max(L.reasonChars).optional(),
});

/**
 * A notice as it arrived from elsewhere (parsed JSON), if it is one: fields this version does not know are
 * dropped (a newer replica may send more), anything else wrong makes it no notice at all.
 */
export function parseCancelNotice(raw: unknown): CancelNotice | undefined {
  const r = cancelNoticeSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}

/**
 * What replicas tell each other at once, without waiting for anyone (port): for now, which 2025-era calls their
 * clients cancelled. Delivery is at most once and only to replicas listening at the time: a notice is a hint to
 * stop work early, never state (the registries hold that).
 *
 * Backends: InMemoryClusterBus (one process: the listeners are called directly) and RedisClusterBus (Redis
 * pub/sub, with REDIS_URL).
 */
export abstract class ClusterBus {
  /**
   * Sends the notice to every replica listening, this one included. Throws REGISTRY_UNAVAILABLE when it cannot be
   * sent (Redis away), or an Error for a notice beyond CANCEL_NOTICE_LIMITS (a programming error).
   */
  abstract publishCancel(notice: CancelNotice): Promise<void>;

  /** Calls `listener` with every notice sent from now on, by any replica; returns the function that stops it. */
  abstract onCancel(listener: (notice: CancelNotice) => void): () => void;
}

/** Throws when a notice to send is beyond its bounds (the sender should have kept it within them). */
export function checkCancelNotice(notice: CancelNotice): void {
  const r = cancelNoticeSchema.safeParse(notice);
  if (!r.success) throw new Error(`A cancel notice beyond its bounds: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}

/** Calls each listener, so one that throws stops neither the others nor the sender. */
export function deliver(listeners: Iterable<(notice: CancelNotice) => void>, notice: CancelNotice, logger: Logger): void {
  for (const listener of listeners) {
    try {
      listener(notice);
    } catch (e) {
      logger.error(`A cancel notice's listener failed: ${errorMessage(e)}`);
    }
  }
}

/** The bus within one process: the embedded default, where every call runs in this process anyway. */
@Injectable()
export class InMemoryClusterBus extends ClusterBus {
  private readonly logger = new Logger('ClusterBus');
  private readonly listeners = new Set<(notice: CancelNotice) => void>();

  async publishCancel(notice: CancelNotice): Promise<void> {
    checkCancelNotice(notice);
    deliver([...this.listeners], notice, this.logger);
  }

  onCancel(listener: (notice: CancelNotice) => void): () => void {
    const own = (n: CancelNotice) => listener(n);
    this.listeners.add(own);
    return () => this.listeners.delete(own);
  }
}
