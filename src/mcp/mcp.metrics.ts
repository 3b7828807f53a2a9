import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { DURATION_BUCKETS, MetricsRegistry } from '../metrics/metrics.module';
import { McpSessions } from './mcp-sessions';
import { ToolRunner } from './tools/tool-runner';

/** The MCP layer's Prometheus metrics: tool calls by tool and outcome with durations, 2025-era MCP sessions open and refused. */
@Injectable()
export class McpMetrics implements OnModuleInit {
  constructor(
    private readonly tools: ToolRunner,
    private readonly mcpSessions: McpSessions,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {}

  onModuleInit() {
    const m = this.metrics;
    if (!m) return;
    const calls = m.counter({ name: 'cua_tool_calls_total', help: 'Tool calls finished, by tool and outcome (ok or the error code).', labelNames: ['tool', 'outcome'] });
    const duration = m.histogram({
      name: 'cua_tool_call_duration_seconds',
      help: 'Duration of tool calls, by tool and outcome.',
      labelNames: ['tool', 'outcome'],
      buckets: DURATION_BUCKETS,
    });
    const refused = m.counter({
      name: 'cua_mcp_connections_refused_total',
      help: 'MCP initialize requests refused with 429, by the setting whose cap was reached (MCP_MAX_CONNECTIONS_PER_PRINCIPAL, MCP_MAX_CONNECTIONS).',
      labelNames: ['limit'],
    });
    // With REDIS_URL the count is the registry's, of all replicas; while Redis is away the last one read stands, so
    // that /metrics still answers when it matters most.
    let open = 0;
    m.gaugeOf('cua_mcp_connections', 'MCP sessions (2025 protocol era) open now (with REDIS_URL: on all replicas, each reporting the same).', async () => {
      open = await this.mcpSessions.count().catch(() => open);
      return open;
    });
    m.on(this.tools.events, 'call', (e) => {
      calls.inc({ tool: e.tool, outcome: e.outcome });
      duration.observe({ tool: e.tool, outcome: e.outcome }, e.durationMs / 1000);
    });
    m.on(this.mcpSessions.events, 'refused', (r) => refused.inc({ limit: r.setting }));
  }
}
