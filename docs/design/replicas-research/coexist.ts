// Scratch: v1 (@modelcontextprotocol/sdk 1.32.2) and v2 (@modelcontextprotocol/server 2.4.0) in one CommonJS program.
import { McpServer as V1McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult as V1CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { McpServer as V2McpServer, type CallToolResult as V2CallToolResult } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';

const args = z.object({ text: z.string() });
// One handler body shared by both SDKs: it returns the v1 result type.
async function echo({ text }: { text: string }): Promise<V1CallToolResult> {
  return { content: [{ type: 'text', text }] };
}
const v1 = new V1McpServer({ name: 'a', version: '1' });
v1.registerTool('echo', { inputSchema: args.shape }, (a) => echo(a));
const v2 = new V2McpServer({ name: 'b', version: '2' });
v2.registerTool('echo', { inputSchema: args }, (a) => echo(a));
// And the other way round: a v2 result handed to v1.
const r2: V2CallToolResult = { content: [{ type: 'text', text: 'x' }] };
v1.registerTool('echo2', { inputSchema: args.shape }, async () => r2);
// A result with an image block, as our screenshot tool returns.
const img: V1CallToolResult = { content: [{ type: 'image', data: 'AA==', mimeType: 'image/png' }], isError: false };
v2.registerTool('shot', { inputSchema: z.object({}) }, async () => img);
void serveStdio; void toNodeHandler;
console.log('v1 tools:', Object.keys((v1 as any)._registeredTools), 'v2 constructed:', typeof v2.registerTool);
