// Does @modelcontextprotocol/ext-apps 2.0.4's server helper work with our SDK 1.32 McpServer, and do client `extensions` capabilities reach the server?
import { createRequire } from 'node:module';
const req = createRequire('/work/wt-lvresearch/package.json');
const { McpServer } = req('@modelcontextprotocol/sdk/server/mcp.js');
const { Client } = req('@modelcontextprotocol/sdk/client/index.js');
const { InMemoryTransport } = req('@modelcontextprotocol/sdk/inMemory.js');
const sdkVersion = req('@modelcontextprotocol/sdk/package.json').version;
const z = req('zod');
const { registerAppTool, registerAppResource, getUiCapability, RESOURCE_MIME_TYPE } = await import('/tmp/lvr/npm/node_modules/@modelcontextprotocol/ext-apps/dist/src/server/index.js');

const server = new McpServer({ name: 't', version: '1' });
let seenCaps;
registerAppTool(server, 'live_view', {
  description: 'live view', inputSchema: { session_id: z.string() },
  _meta: { ui: { resourceUri: 'ui://cua/live-view.html' } },
}, async ({ session_id }) => { seenCaps = server.server.getClientCapabilities(); return { content: [{ type: 'text', text: 'http://x/' + session_id }], structuredContent: { url: 'http://x/' + session_id } }; });
registerAppResource(server, 'Live view', 'ui://cua/live-view.html', { description: 'd', _meta: { ui: { csp: { connectDomains: ['wss://cua.example'], resourceDomains: ['https://cua.example'] }, prefersBorder: false } } },
  async (uri) => ({ contents: [{ uri: uri.href, mimeType: RESOURCE_MIME_TYPE, text: '<!doctype html><html></html>', _meta: { ui: { csp: { connectDomains: ['wss://cua.example'] } } } }] }));
const [a, b] = InMemoryTransport.createLinkedPair();
await server.connect(a);
const client = new Client({ name: 'host', version: '1' }, { capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: [RESOURCE_MIME_TYPE] } } } });
await client.connect(b);
console.log('sdk', sdkVersion, 'node', process.version);
const tools = await client.listTools();
console.log('tools/list _meta:', JSON.stringify(tools.tools[0]._meta));
const res = await client.listResources();
console.log('resources/list:', JSON.stringify(res.resources));
const rd = await client.readResource({ uri: 'ui://cua/live-view.html' });
console.log('resources/read:', JSON.stringify(rd.contents[0]).slice(0, 300));
const r = await client.callTool({ name: 'live_view', arguments: { session_id: 's1' } });
console.log('call:', JSON.stringify(r.structuredContent));
console.log('client caps seen by server:', JSON.stringify(seenCaps), '→ getUiCapability:', JSON.stringify(getUiCapability(seenCaps)));
