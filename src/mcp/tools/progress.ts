import type { Extra } from './tool-runner';

/**
 * Progress for one request, sent on that request's own stream (ctx.mcpReq.notify) so it
 * reaches the client, in both protocol eras. Values strictly increase, as the spec requires. Does nothing without a
 * progressToken. A heartbeat keeps clients that reset their timeout on progress alive.
 */
export class Progress {
  private value = 0;
  private sent = false;
  private timer?: NodeJS.Timeout;
  private readonly token: string | number | undefined;

  constructor(
    private readonly extra: Extra,
    private readonly total?: number,
  ) {
    this.token = extra.mcpReq._meta?.progressToken;
  }

  /** Sends progress. `to` sets the value (it never goes backwards); without it the value creeps up. */
  report(message: string, to?: number) {
    if (this.token === undefined) return;
    if (to !== undefined && (to > this.value || !this.sent)) this.value = to;
    else this.value += this.total ? 0.001 : 1;
    this.sent = true;
    this.extra.mcpReq
      .notify({
        method: 'notifications/progress',
        params: { progressToken: this.token, progress: Number(this.value.toFixed(3)), ...(this.total ? { total: this.total } : {}), message },
      })
      .catch(() => undefined);
  }

  /** Sends a heartbeat every `ms` until stop(). */
  heartbeat(ms: number, message: () => string) {
    if (this.token === undefined) return this;
    this.timer = setInterval(() => this.report(message()), ms);
    this.timer.unref();
    return this;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
