// Scratch: the same tool over stdio with the SDK v2 serveStdio (both eras by default).
// With SPAWN_LOG set, it notes each start (and stdin end) so spawns.mjs can count probe siblings.
import * as z from 'zod/v4';
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

const note = (what) => { if (process.env.SPAWN_LOG) appendFileSync(process.env.SPAWN_LOG, `${Date.now()} ${what} ${process.pid}\n`); };
note('spawn');
process.stdin.on('end', () => note('stdin-end'));

serveStdio(({ era }) => {
  const server = new McpServer({ name: 'scratch-stdio', version: '0.0.1' }, { capabilities: { logging: {} } });
  server.registerTool('echo', { inputSchema: z.object({ text: z.string(), steps: z.number().int().optional() }) }, async ({ text, steps = 0 }, c) => {
    const token = c.mcpReq._meta?.progressToken;
    for (let i = 1; i <= steps; i++) if (token !== undefined) await c.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps } });
    return { content: [{ type: 'text', text: `${text} (stdio ${era})` }] };
  });
  return server;
});
console.error(`[stdio-server] pid ${process.pid} up`);
