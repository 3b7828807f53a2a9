import { Injectable } from '@nestjs/common';

/**
 * The one owner of "we are shutting down". Flipped first thing on SIGTERM/SIGINT, before any
 * module tears down, so readiness turns 503 and new work is refused while running work finishes.
 */
@Injectable()
export class DrainState {
  private since?: number;

  get draining(): boolean {
    return this.since !== undefined;
  }

  start(): void {
    this.since ??= Date.now();
  }
}
