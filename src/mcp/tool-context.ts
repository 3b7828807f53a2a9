import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';

/** Who is calling, on which MCP connection. One per McpServer (one per MCP session, or stdio). */
export interface ToolContext {
  principal: string;
  /** MCP session id, or "stdio". Keys this connection's default session. */
  connectionId: string;
  server: McpServer;
  /** Set by logging/setLevel; messages below it are not sent. */
  logLevel?: LoggingLevel;
}
