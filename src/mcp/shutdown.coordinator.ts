import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { LIFECYCLE_SETTINGS, type LifecycleSettings } from '../lifecycle/lifecycle.settings';
import { DrainState } from '../lifecycle/lifecycle.module';
import { ComputerPool } from '../pool/pool.module';
import { SessionService } from '../session/session.module';
import { McpEndpoint } from './mcp-endpoint';
import { ToolRunner } from './tools/tool-runner';

/** How long aborted calls get to send their error results before streams are closed. */
const ABORT_SETTLE_MS = 3_000;

/**
 * Graceful shutdown, in one place and in order (runs before Nest closes the HTTP server):
 * refuse new work (readiness 503) → let running calls finish for SHUTDOWN_GRACE_MS → abort the
 * rest (their clients get an error result) → end every session → close the MCP answers still
 * streaming → destroy every computer. (2025-era MCP sessions are records, not open streams: nothing
 * of them needs closing.)
 */
@Injectable()
export class ShutdownCoordinator implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShutdownCoordinator.name);
  private done?: Promise<void>;

  constructor(
    private readonly drain: DrainState,
    private readonly tools: ToolRunner,
    private readonly sessions: SessionService,
    private readonly endpoint: McpEndpoint,
    private readonly pool: ComputerPool,
    @InjectSettings(LIFECYCLE_SETTINGS) private readonly shutdown: LifecycleSettings,
  ) {}

  beforeApplicationShutdown(signal?: string): Promise<void> {
    return (this.done ??= this.run(signal));
  }

  private async run(signal?: string) {
    const t0 = Date.now();
    this.drain.start();
    const running = this.tools.count();
    this.logger.log(`Shutting down${signal ? ` on ${signal}` : ''}: ${running} call(s) running, grace ${this.shutdown.graceMs} ms`);
    const left = await this.tools.settle(this.shutdown.graceMs);
    if (left) {
      this.tools.abortAll(new DomainError(DomainErrorCode.SHUTTING_DOWN, `The server is shutting down; the call was stopped after the ${this.shutdown.graceMs} ms grace period.`));
      await this.tools.settle(ABORT_SETTLE_MS);
    }
    await this.sessions.drainAll(0);
    await this.endpoint.close();
    await this.pool.drain();
    this.logger.log(`Shutdown done in ${Date.now() - t0} ms: ${running - left} call(s) finished, ${left} aborted`);
  }
}
