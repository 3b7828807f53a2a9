import { Setting, defineSettings, type SettingsOf, Int } from '../config/settings';
import { SESSION_SETTINGS } from '../session/session.settings';

class McpEnv {
  @Setting('Most MCP sessions (2025 protocol era) open at once, on all replicas together with `REDIS_URL`; beyond it `initialize` gets 429 with `Retry-After`.')
  @Int(1, 1_000_000)
  MCP_MAX_CONNECTIONS = 1000;

  @Setting('Most MCP sessions one principal may have open, on all replicas together with `REDIS_URL` (at most `MCP_MAX_CONNECTIONS`; 429 beyond it).')
  @Int(1, 1_000_000)
  MCP_MAX_CONNECTIONS_PER_PRINCIPAL = 100;

  @Setting('An MCP session with no call running that never used a default session ends after this long without requests (at most `SESSION_IDLE_TIMEOUT_MS`; one that did, after that).')
  @Int(1000, 604_800_000)
  MCP_CONNECTION_IDLE_TIMEOUT_MS = 120_000;
}

export const MCP_SETTINGS = defineSettings({
  namespace: 'mcp',
  title: 'MCP sessions (Streamable HTTP, 2025 protocol era)',
  env: McpEnv,
  build: (env, ctx) => ({
    maxConnections: env.MCP_MAX_CONNECTIONS,
    maxConnectionsPerPrincipal: Math.min(env.MCP_MAX_CONNECTIONS_PER_PRINCIPAL, env.MCP_MAX_CONNECTIONS),
    connectionIdleTimeoutMs: Math.min(env.MCP_CONNECTION_IDLE_TIMEOUT_MS, ctx.of(SESSION_SETTINGS).idleTimeoutMs),
  }),
});
export type McpSettings = SettingsOf<typeof MCP_SETTINGS>;
