// Scratch: every client against every endpoint; prints era, tool result, progress seen, timing.
import { Client, StreamableHTTPClientTransport, SdkError } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const targets = {
  'v2 dual /mcp': () => ({ http: 'http://127.0.0.1:3311/mcp' }),
  'v2 /plain': () => ({ http: 'http://127.0.0.1:3311/plain' }),
  'via forwarder': () => ({ http: 'http://127.0.0.1:3313/mcp' }),
  'v1-only server': () => ({ http: 'http://127.0.0.1:3312/mcp' }),
  'v2 stdio': () => ({ stdio: ['stdio-server.mjs'] }),
  'v1 stdio': () => ({ stdio: ['v1stdio-server.mjs'] }),
};
const modes = { 'v2 pin 2026-07-28': { pin: '2026-07-28' }, 'v2 auto': 'auto', 'v2 legacy': 'legacy', 'v1 client 1.32.2': 'v1' };

const only = process.argv[2];
for (const [tname, t] of Object.entries(targets)) {
  if (only && !tname.includes(only)) continue;
  for (const [mname, mode] of Object.entries(modes)) {
    const target = t();
    const started = performance.now();
    let client;
    try {
      if (mode === 'v1') {
        client = new V1Client({ name: 'v1c', version: '1' });
        await client.connect(target.http ? new V1HttpTransport(new URL(target.http)) : new V1StdioTransport({ command: 'node', args: target.stdio, stderr: 'ignore' }));
      } else {
        client = new Client({ name: 'v2c', version: '1' }, { versionNegotiation: { mode, probe: { timeoutMs: 5000 } } });
        await client.connect(target.http ? new StreamableHTTPClientTransport(new URL(target.http)) : new StdioClientTransport({ command: 'node', args: target.stdio, stderr: 'ignore' }));
      }
      const connectMs = Math.round(performance.now() - started);
      const era = mode === 'v1' ? 'legacy(v1)' : client.getProtocolEra();
      const progress = [];
      const onprogress = (p) => progress.push(p.progress);
      const r = mode === 'v1' ? await client.callTool({ name: 'echo', arguments: { text: 'hi', steps: 2 } }, undefined, { onprogress }) : await client.callTool({ name: 'echo', arguments: { text: 'hi', steps: 2 } }, { onprogress });
      console.log(`${tname.padEnd(15)} | ${mname.padEnd(18)} | era=${era} connect=${connectMs}ms | ${r.content[0].text} | progress=${JSON.stringify(progress)}`);
    } catch (e) {
      console.log(`${tname.padEnd(15)} | ${mname.padEnd(18)} | FAILED after ${Math.round(performance.now() - started)}ms: ${e instanceof SdkError ? e.code + ': ' : ''}${e.message.slice(0, 200)}`);
    } finally {
      await client?.close().catch(() => {});
    }
  }
}
