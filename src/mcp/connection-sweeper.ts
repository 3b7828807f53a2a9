import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicJob } from '../common/periodic-job';
import { InjectSettings } from '../config/config.module';
import { SESSION_SETTINGS, type SessionSettings } from '../session/session.settings';
import { McpConnections } from './mcp-connections';

/**
 * Every SESSION_SWEEP_INTERVAL_MS, closes MCP connections idle past their limit
 * (McpConnections.sweepIdle: SESSION_IDLE_TIMEOUT_MS while they use a default session or hold a
 * GET stream, MCP_CONNECTION_IDLE_TIMEOUT_MS when they hold nothing), so clients that vanish
 * without DELETE, or open sessions they never use, do not keep a server and a transport forever
 * (their default session's computer is freed sooner, by the session sweep). Owns its interval.
 */
@Injectable()
export class ConnectionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ConnectionSweeper.name);
  private readonly job: PeriodicJob;

  constructor(
    connections: McpConnections,
    scheduler: SchedulerRegistry,
    @InjectSettings(SESSION_SETTINGS) private readonly sessionSettings: SessionSettings,
  ) {
    this.job = new PeriodicJob(scheduler, 'mcp-connection-idle-sweep', this.logger, async () => {
      const closed = await connections.sweepIdle();
      if (closed.length) this.logger.log(`Closed ${closed.length} idle MCP connection(s)`);
    });
  }

  onApplicationBootstrap() {
    this.job.start(this.sessionSettings.sweepIntervalMs);
  }

  onModuleDestroy() {
    this.job.stop();
  }
}
