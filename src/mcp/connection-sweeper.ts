import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { errorMessage } from '../common/domain-error';
import { AppConfig } from '../config/config.module';
import { McpConnections } from './mcp-connections';
import { ToolRunner } from './tools/tool-runner';

const INTERVAL = 'mcp-connection-idle-sweep';

/**
 * Every SESSION_SWEEP_INTERVAL_MS, closes MCP connections idle longer than SESSION_IDLE_TIMEOUT_MS,
 * so clients that vanish without DELETE do not keep a server, a transport and a default session
 * (with its computer) forever. Owns its interval.
 */
@Injectable()
export class ConnectionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ConnectionSweeper.name);
  private running = false;

  constructor(
    private readonly connections: McpConnections,
    private readonly tools: ToolRunner,
    private readonly scheduler: SchedulerRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap() {
    const timer = setInterval(() => void this.tick(), this.config.session.sweepIntervalMs);
    timer.unref();
    this.scheduler.addInterval(INTERVAL, timer);
  }

  onModuleDestroy() {
    if (this.scheduler.doesExist('interval', INTERVAL)) this.scheduler.deleteInterval(INTERVAL);
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const closed = await this.connections.sweepIdle(this.config.session.idleTimeoutMs, (id) => this.tools.busy(id));
      if (closed.length) this.logger.log(`Closed ${closed.length} idle MCP connection(s)`);
    } catch (e) {
      this.logger.error(`Connection sweep failed: ${errorMessage(e)}`);
    } finally {
      this.running = false;
    }
  }
}
