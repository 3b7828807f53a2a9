// Scratch: a 2025-only stdio server (SDK 1.32.2), like the project's src/mcp/stdio.ts today.
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'v1-stdio', version: '1.0.0' });
server.registerTool('echo', { inputSchema: { text: z.string(), steps: z.number().int().optional() } }, async ({ text }) => ({ content: [{ type: 'text', text: `${text} (v1 stdio)` }] }));
await server.connect(new StdioServerTransport());
