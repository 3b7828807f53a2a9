// Scratch: what a per-request McpServer costs (createMcpHandler builds one per HTTP request).
import * as z from 'zod/v4';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
const schema = z.object({ session_id: z.string().optional(), action: z.object({ type: z.enum(['click', 'type', 'key', 'scroll', 'move', 'drag']), x: z.number().int().optional(), y: z.number().int().optional(), text: z.string().optional() }), screenshot: z.boolean().optional() });
function factory() {
  const s = new McpServer({ name: 'cost', version: '1' }, { capabilities: { logging: {} } });
  for (let i = 0; i < 15; i++) s.registerTool(`tool_${i}`, { description: 'x'.repeat(200), inputSchema: schema }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
  return s;
}
const n = 2000;
let t = performance.now();
for (let i = 0; i < n; i++) factory();
console.log(`construct McpServer + 15 tools: ${((performance.now() - t) / n * 1000).toFixed(0)} µs each`);
const h = createMcpHandler(factory, { legacy: 'reject' });
const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
const req = (id, method, params, name) => new Request('http://127.0.0.1/mcp', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) }, body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } }) });
for (const [label, mk] of [['tools/call', (i) => req(i, 'tools/call', { name: 'tool_3', arguments: { action: { type: 'click', x: 1, y: 2 } } }, 'tool_3')], ['tools/list', (i) => req(i, 'tools/list', {})]]) {
  for (let i = 0; i < 200; i++) await (await h.fetch(mk(i))).text();
  const ts = [];
  for (let i = 0; i < n; i++) { const s = performance.now(); const r = await h.fetch(mk(i)); await r.text(); ts.push(performance.now() - s); }
  ts.sort((a, b) => a - b);
  console.log(`handler.fetch ${label} in-process (fresh server each): p50 ${(ts[n / 2] * 1000).toFixed(0)} µs, p99 ${(ts[Math.floor(n * 0.99)] * 1000).toFixed(0)} µs`);
}
await h.close();
