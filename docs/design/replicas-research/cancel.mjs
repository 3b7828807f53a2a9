// Scratch: cancel a running tools/call from each client/era and watch the server log for the abort.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = new URL(process.env.MCP_URL ?? 'http://127.0.0.1:3311/mcp'); // 3313 = through forward.mjs
async function run(label, client, call) {
  const ac = new AbortController();
  const started = performance.now();
  const p = call(ac.signal);
  setTimeout(() => { console.log(Date.now(), 'abort'); ac.abort(new Error('user cancelled')); }, 300);
  try { await p; console.log(`${label}: completed (not cancelled)`); } catch (e) { console.log(`${label}: rejected after ${Math.round(performance.now() - started)} ms: ${e.message}`); }
  await new Promise((r) => setTimeout(r, 1500));
  console.log(Date.now(), 'close');
  await client.close();
}

const modern = new Client({ name: 'c', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
await modern.connect(new StreamableHTTPClientTransport(url));
await run('v2 pinned modern', modern, (signal) => modern.callTool({ name: 'echo', arguments: { text: 'x', sleep_ms: 5000 } }, { signal }));

const legacy = new Client({ name: 'c', version: '1' });
await legacy.connect(new StreamableHTTPClientTransport(url));
await run('v2 legacy', legacy, (signal) => legacy.callTool({ name: 'echo', arguments: { text: 'x', sleep_ms: 5000 } }, { signal }));

const v1 = new V1Client({ name: 'c', version: '1' });
await v1.connect(new V1HttpTransport(url));
await run('v1 client', v1, (signal) => v1.callTool({ name: 'echo', arguments: { text: 'x', sleep_ms: 5000 } }, undefined, { signal }));
