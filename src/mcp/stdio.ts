import { Logger, type INestApplicationContext } from '@nestjs/common';
import { serveStdio as serveStdioSdk } from '@modelcontextprotocol/server/stdio';
import { stdioIdentity } from '../auth/auth.module';
import { AUTH_SETTINGS, type AuthSettings } from '../auth/auth.settings';
import { McpServerFactory } from './mcp-server.factory';

export const STDIO_CONNECTION = 'stdio';

/**
 * Serves one MCP client on stdin/stdout (e.g. Claude Desktop) as STDIO_PRINCIPAL (no API key: whoever starts the
 * process is trusted), in either protocol era: the SDK pins the connection to the era its first message speaks
 * (`initialize`: 2025; `server/discover` or a request with the 2026-07-28 `_meta`: 2026) and serves it with one
 * instance from the same factory as HTTP. Nothing else may write to stdout. Resolves when the client goes away
 * (stdin closes).
 */
export async function serveStdio(app: INestApplicationContext): Promise<void> {
  const logger = new Logger('Stdio');
  const factory = app.get(McpServerFactory);
  const principal = app.get<string, AuthSettings>(AUTH_SETTINGS.token).stdioPrincipal;
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  const handle = serveStdioSdk(({ era }) => factory.create({ principal, identity: stdioIdentity(principal), connectionId: STDIO_CONNECTION, era }), {
    onerror: (e) => logger.warn(`stdio: ${e.message}`),
  });
  await closed;
  await handle.close().catch(() => undefined);
}
