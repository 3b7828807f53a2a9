import type { LoggingLevel, McpServer } from '@modelcontextprotocol/server';

/** Which protocol era a server instance serves: 2026-07-28 (`modern`, per-request metadata) or 2025-11-25 and before (`legacy`, `initialize`). */
export type McpEra = 'legacy' | 'modern';

/**
 * Who is calling, through which MCP server instance. One per McpServer: per HTTP request (both eras), per stdio
 * connection.
 */
export interface ToolContext {
  principal: string;
  /**
   * What keys the caller's default session and its calls in flight: the Mcp-Session-Id (2025 era over HTTP),
   * "stdio", or the principal's own key in the 2026 era over HTTP (principalConnection), where every id-less call
   * of a principal shares one default session.
   */
  connectionId: string;
  era: McpEra;
  /** The Mcp-Session-Id the request came with (2025 era over HTTP). */
  mcpSession?: string;
  server: McpServer;
  /**
   * 2025 era over HTTP: the level logging/setLevel stored on the MCP session's record (the instance serving this
   * request is new and would not know it); messages below it are not sent. Unset elsewhere: the SDK's own filter
   * applies (the request's `_meta` level in the 2026 era, logging/setLevel on a stdio connection).
   */
  logLevel?: LoggingLevel;
}

/** The connection key of a principal's 2026-era calls over HTTP (no MCP session there: one default session per principal). */
export function principalConnection(principal: string): string {
  return `modern:${principal}`;
}
