import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AgentService } from '../agent/agent.module';
import { CuaComputerProvider, type DesktopFailure, KubernetesComputerProvider } from '../computer/computer.module';
import { HttpLimits } from '../http/http.module';
import { McpConnections, type McpConnectionRefusal, ToolRunner, type ToolCallEvent } from '../mcp/mcp.module';
import { ComputerPool, type Lease } from '../pool/pool.module';
import { type EndReason, Session, SessionService } from '../session/session.module';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/**
 * The Prometheus metrics of this process, on its own registry. Figures come from the features'
 * events (sessions, tool calls, pool leases, agent steps) and, for gauges, from their state at
 * scrape time; no feature depends on this module.
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];

  private readonly sessionsCreated = new Counter({ name: 'cua_sessions_created_total', help: 'Sessions opened, by kind (default, named, minted).', labelNames: ['kind'], registers: [this.registry] });
  private readonly sessionsEnded = new Counter({
    name: 'cua_sessions_ended_total',
    help: 'Sessions ended, by reason (cleanup, idle, connection-closed, shutdown, start-failed).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly toolCalls = new Counter({ name: 'cua_tool_calls_total', help: 'Tool calls finished, by tool and outcome (ok or the error code).', labelNames: ['tool', 'outcome'], registers: [this.registry] });
  private readonly toolDuration = new Histogram({
    name: 'cua_tool_call_duration_seconds',
    help: 'Duration of tool calls, by tool and outcome.',
    labelNames: ['tool', 'outcome'],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly acquireWait = new Histogram({
    name: 'cua_pool_acquire_wait_seconds',
    help: 'How long a lease waited for its computer, by start (warm: from stock; cold: waited for one to start or free up).',
    labelNames: ['start'],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly leasesTotal = new Counter({ name: 'cua_pool_leases_total', help: 'Computers leased, by start (warm or cold).', labelNames: ['start'], registers: [this.registry] });
  private readonly destroyed = new Counter({ name: 'cua_pool_computers_destroyed_total', help: 'Computers destroyed.', registers: [this.registry] });
  private readonly agentSteps = new Counter({ name: 'cua_agent_steps_total', help: 'Agent loop steps (model calls), by model provider.', labelNames: ['provider'], registers: [this.registry] });
  private readonly modelLatency = new Histogram({
    name: 'cua_model_request_duration_seconds',
    help: 'Time of one agent step\'s model call (including retries), by model provider.',
    labelNames: ['provider'],
    buckets: SECONDS,
    registers: [this.registry],
  });
  private readonly desktopFailures = new Counter({
    name: 'cua_desktop_pod_failures_total',
    help: 'Kubernetes desktops (pods or sandbox claims) that failed to start or were lost, by reason (ImagePullBackOff, CrashLoopBackOff, ReadyTimeout, Unschedulable, Deleted …).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly mcpRefused = new Counter({
    name: 'cua_mcp_connections_refused_total',
    help: 'MCP initialize requests refused with 429, by the setting whose cap was reached (MCP_MAX_CONNECTIONS_PER_PRINCIPAL, MCP_MAX_CONNECTIONS).',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  private readonly httpDropped = new Counter({
    name: 'cua_http_connections_dropped_total',
    help: 'Connections the main port closed at once because HTTP_MAX_CONNECTIONS were open.',
    registers: [this.registry],
  });
  readonly httpInFlight = new Gauge({ name: 'cua_http_requests_in_flight', help: 'HTTP requests being served (open MCP streams included).', registers: [this.registry] });

  constructor(
    private readonly sessions: SessionService,
    private readonly pool: ComputerPool,
    private readonly tools: ToolRunner,
    private readonly agent: AgentService,
    private readonly kubernetes: KubernetesComputerProvider,
    private readonly cuaComputers: CuaComputerProvider,
    private readonly connections: McpConnections,
    private readonly http: HttpLimits,
  ) {
    new Gauge({ name: 'cua_sessions_active', help: 'Sessions open now.', registers: [this.registry], collect: gaugeOf(() => this.sessions.count()) });
    new Gauge({ name: 'cua_mcp_connections', help: 'MCP sessions (connections) open now.', registers: [this.registry], collect: gaugeOf(() => this.connections.size()) });
    const poolGauge = (name: string, help: string, read: (s: ReturnType<ComputerPool['stats']>) => number) =>
      new Gauge({ name: `cua_pool_${name}`, help, registers: [this.registry], collect: gaugeOf(() => read(this.pool.stats())) });
    poolGauge('size', 'Computers alive (leased, in stock, starting, being checked or destroyed).', (s) => s.size);
    poolGauge('leased', 'Computers leased to sessions.', (s) => s.leased);
    poolGauge('idle', 'Ready computers in stock.', (s) => s.idle);
    poolGauge('creating', 'Computers starting.', (s) => s.creating);
    poolGauge('waiting', 'Calls waiting for a computer.', (s) => s.waiting);
    poolGauge('max', 'POOL_MAX_SIZE.', (s) => s.max);
    const cua = this.cuaComputers;
    new Gauge({
      name: 'cua_remote_computers',
      help: 'Remote cua computers (COMPUTER_PROVIDER=cua) by state: free, leased (or being reset), quarantined (reset or check failed; probed until it answers).',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        for (const [state, n] of Object.entries(cua.endpointCounts() ?? {})) this.set({ state }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  onModuleInit() {
    this.on(this.sessions.events, 'opened', (s: Session) => this.sessionsCreated.inc({ kind: s.kind }));
    this.on(this.sessions.events, 'ended', (_s: Session, reason: EndReason | 'start-failed') => this.sessionsEnded.inc({ reason }));
    this.on(this.tools.events, 'call', (e: ToolCallEvent) => {
      this.toolCalls.inc({ tool: e.tool, outcome: e.outcome });
      this.toolDuration.observe({ tool: e.tool, outcome: e.outcome }, e.durationMs / 1000);
    });
    this.on(this.pool.events, 'leased', (l: Lease) => {
      const start = l.warm ? 'warm' : 'cold';
      this.leasesTotal.inc({ start });
      this.acquireWait.observe({ start }, l.waitedMs / 1000);
    });
    this.on(this.pool.events, 'destroyed', () => this.destroyed.inc());
    this.on(this.http.events, 'dropped', () => this.httpDropped.inc());
    this.on(this.connections.events, 'refused', (r: McpConnectionRefusal) => this.mcpRefused.inc({ limit: r.setting }));
    this.on(this.kubernetes.events, 'failure', (f: DesktopFailure) => this.desktopFailures.inc({ reason: f.reason }));
    this.on(this.agent.events, 'step', (e: { provider: string; modelMs: number }) => {
      this.agentSteps.inc({ provider: e.provider });
      this.modelLatency.observe({ provider: e.provider }, e.modelMs / 1000);
    });
  }

  onModuleDestroy() {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private on<A extends unknown[]>(emitter: NodeJS.EventEmitter, event: string, listener: (...args: A) => void) {
    const l = listener as (...args: unknown[]) => void;
    emitter.on(event, l);
    this.unsubscribe.push(() => emitter.off(event, l));
  }
}

function gaugeOf(read: () => number) {
  return function (this: Gauge) {
    this.set(read());
  };
}
