import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { CANCEL_NOTICE_LIMITS, ClusterBus, type CancelNotice } from '../cluster/cluster.module';
import { DomainError, DomainErrorCode, errorMessage } from '../common/domain-error';
import { ToolRunner } from './tools/tool-runner';

/**
 * The 2025 era's `notifications/cancelled`: a POST of its own, which may reach another replica than the one running
 * the call it names (the call's stream stays open meanwhile). The replica that receives it stops the call if it
 * runs there, at once, and tells every replica through the ClusterBus; each stops the calls of that MCP session,
 * of that principal, with those request ids that run there. A call stopped answers CANCELLED on its own stream.
 */
@Injectable()
export class McpCancellations implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('McpController');
  private unsubscribe?: () => void;

  constructor(
    private readonly tools: ToolRunner,
    private readonly bus: ClusterBus,
  ) {}

  onModuleInit() {
    this.unsubscribe = this.bus.onCancel((n) => this.stop(n));
  }

  onModuleDestroy() {
    this.unsubscribe?.();
  }

  /**
   * The cancellations among a 2025-era POST's messages (one, or a batch), sent in the principal's MCP session `sid`
   * (checked by the caller): stopped here, and sent to the other replicas. When they cannot be told (Redis away),
   * that is logged; the POST is still answered as usual.
   */
  async cancelled(sid: string, principal: string, messages: readonly unknown[]): Promise<void> {
    for (const notice of noticesOf(sid, principal, messages)) {
      this.stop(notice);
      await this.bus.publishCancel(notice).catch((e: unknown) =>
        this.logger.warn(`MCP session ${sid}: the other replicas could not be told of a cancellation (${errorMessage(e)}); a call running on one of them runs on`),
      );
    }
  }

  /**
   * The same, here only: for a POST whose MCP session could not be checked (the registry is away). Safe without the
   * check: only calls that came in that MCP session, from that principal, can match.
   */
  cancelledHere(sid: string, principal: string, messages: readonly unknown[]): void {
    for (const notice of noticesOf(sid, principal, messages)) this.stop(notice);
  }

  /** Stops the notice's calls that run here. */
  private stop(notice: CancelNotice): void {
    const reason = notice.reason ? `: ${notice.reason}` : '';
    const n = this.tools.abortRequests(notice.mcpSession, notice.principal, notice.requestIds, new DomainError(DomainErrorCode.CANCELLED, `The client cancelled the call${reason}.`));
    if (n) this.logger.log(`MCP session ${notice.mcpSession}: the client cancelled request(s) ${notice.requestIds.map((id) => String(id).slice(0, 64)).join(', ')}; stopped ${n} call(s)`);
  }
}

const L = CANCEL_NOTICE_LIMITS;

/**
 * The notices for the `notifications/cancelled` among `messages`: one per reason given, each with at most
 * CANCEL_NOTICE_LIMITS.requestIds ids. What cannot name a call of ours is left out: a message without a request id
 * of JSON-RPC's types, or with a string id longer than any a client makes; a reason is cut to its limit.
 */
export function noticesOf(sid: string, principal: string, messages: readonly unknown[]): CancelNotice[] {
  if (sid.length > L.idChars || principal.length > L.principalChars) return [];
  const byReason = new Map<string, (string | number)[]>();
  for (const m of messages) {
    if (!isObject(m) || m.method !== 'notifications/cancelled' || !isObject(m.params)) continue;
    const id = m.params.requestId;
    if (!((typeof id === 'string' && id.length <= L.idChars) || (typeof id === 'number' && Number.isFinite(id)))) continue;
    const reason = typeof m.params.reason === 'string' ? m.params.reason.slice(0, L.reasonChars) : '';
    byReason.set(reason, [...(byReason.get(reason) ?? []), id]);
  }
  const notices: CancelNotice[] = [];
  for (const [reason, ids] of byReason) {
    for (let i = 0; i < ids.length; i += L.requestIds) {
      notices.push({ mcpSession: sid, principal, requestIds: ids.slice(i, i + L.requestIds), ...(reason && { reason }) });
    }
  }
  return notices;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
