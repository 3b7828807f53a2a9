import type { INestApplicationContext } from '@nestjs/common';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AUTH_SETTINGS, type AuthSettings } from '../auth/auth.settings';
import { McpConnections } from './mcp-connections';
import { McpServerFactory } from './mcp-server.factory';

export const STDIO_CONNECTION = 'stdio';

/**
 * Serves one MCP client on stdin/stdout (e.g. Claude Desktop) as STDIO_PRINCIPAL (no API key:
 * whoever starts the process is trusted). Nothing else may write to stdout.
 * Resolves when the client goes away (stdin closes).
 */
export async function serveStdio(app: INestApplicationContext): Promise<void> {
  const factory = app.get(McpServerFactory);
  const connections = app.get(McpConnections);
  const ctx = factory.create(app.get<string, AuthSettings>(AUTH_SETTINGS.token).stdioPrincipal, STDIO_CONNECTION);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  connections.add(ctx, transport);
  await ctx.server.connect(transport);
  await closed;
}
