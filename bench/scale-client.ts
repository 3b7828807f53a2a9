/**
 * The client side of the scale benchmark, in its own process so its memory does not count
 * against the server's: opens MCP sessions on request and makes calls at a fixed total rate.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = new URL(process.argv[2]);
const clients: Client[] = [];
const call = (c: Client) => c.callTool({ name: 'computer', arguments: { action: 'cursor_position', screenshot: false } });

async function grow(to: number) {
  while (clients.length < to) {
    const batch = Math.min(50, to - clients.length);
    const more = await Promise.all(
      Array.from({ length: batch }, async () => {
        const c = new Client({ name: 'scale', version: '1' });
        await c.connect(new StreamableHTTPClientTransport(url));
        await call(c); // opens the session and leases its computer
        return c;
      }),
    );
    clients.push(...more);
  }
}

/** Calls at `rps` in total for `ms`, cycling through every open session; returns latencies (ms). */
async function measure(rps: number, ms: number): Promise<number[]> {
  const lat: number[] = [];
  const pending: Promise<void>[] = [];
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < ms) {
    const c = clients[i++ % clients.length];
    const t = process.hrtime.bigint();
    pending.push(call(c).then(() => void lat.push(Number(process.hrtime.bigint() - t) / 1e6)));
    await new Promise((r) => setTimeout(r, 1000 / rps));
  }
  await Promise.all(pending);
  return lat;
}

process.on('message', (msg: { cmd: string; to?: number; rps?: number; ms?: number }) => {
  void (async () => {
    if (msg.cmd === 'grow') {
      await grow(msg.to!);
      process.send!({ cmd: 'grown', count: clients.length });
    } else if (msg.cmd === 'measure') {
      process.send!({ cmd: 'measured', lat: await measure(msg.rps!, msg.ms!) });
    } else if (msg.cmd === 'stop') {
      // Leave without closing 1,000 sessions one by one: the server ends them when it stops.
      process.exit(0);
    }
  })();
});
