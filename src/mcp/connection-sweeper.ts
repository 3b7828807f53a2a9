import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '../common/periodic-job';
import { InjectSettings } from '../config/config.module';
import { SESSION_SETTINGS, type SessionSettings } from '../session/session.settings';
import { McpSessions } from './mcp-sessions';

/**
 * Every SESSION_SWEEP_INTERVAL_MS, ends 2025-era MCP sessions idle past their limit
 * (McpSessions.sweepIdle: SESSION_IDLE_TIMEOUT_MS once they used a default session,
 * MCP_CONNECTION_IDLE_TIMEOUT_MS when they never did), so clients that vanish without DELETE, or
 * open MCP sessions they never use, do not keep a record and a slot under the caps forever (their
 * default session's computer is freed sooner, by the session sweep). Owns its interval.
 */
@Injectable()
export class ConnectionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ConnectionSweeper.name);
  private readonly job: PeriodicJob;

  constructor(
    mcpSessions: McpSessions,
    scheduler: SchedulerRegistry,
    @InjectSettings(SESSION_SETTINGS) private readonly sessionSettings: SessionSettings,
  ) {
    this.job = new PeriodicJob(scheduler, 'mcp-connection-idle-sweep', this.logger, async () => {
      const ended = await mcpSessions.sweepIdle();
      if (ended.length) this.logger.log(`Ended ${ended.length} idle MCP session(s)`);
    });
  }

  onApplicationBootstrap() {
    this.job.start(this.sessionSettings.sweepIntervalMs);
  }

  onModuleDestroy() {
    this.job.stop();
  }
}
