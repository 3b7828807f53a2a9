// Scratch: how many server processes does each client mode spawn over stdio?
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { readFileSync, writeFileSync } from 'node:fs';
const log = '/tmp/sdkv2-scratch/spawns.log';
for (const mode of ['legacy', 'auto', { pin: '2026-07-28' }]) {
  writeFileSync(log, '');
  const c = new Client({ name: 's', version: '1' }, { versionNegotiation: { mode } });
  const t0 = Date.now();
  await c.connect(new StdioClientTransport({ command: 'node', args: ['stdio-server.mjs'], env: { ...process.env, SPAWN_LOG: log }, stderr: 'ignore' }));
  const ms = Date.now() - t0;
  await c.close();
  await new Promise((r) => setTimeout(r, 300));
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  console.log(JSON.stringify(mode), `connect ${ms} ms, server processes started: ${lines.filter((l) => l.includes('spawn')).length}; log:`, lines.map((l) => l.replace(/^\d+ /, '')).join(' | '));
}
