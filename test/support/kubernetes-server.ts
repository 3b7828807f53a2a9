import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubernetes } from './fake-kubernetes';
import { ServerProcess, spawnServer } from './server-process';

export const NS = 'desktops';
export const RELEASE = 'it';
export const SERVER_POD = { name: 'it-cua-mcp-server-7d9f-abcde', uid: '0b8f5c1e-5f43-4a8e-9a51-0d7d1c1f2a11' };

/** The built server, pointed at a FAKE Kubernetes API through a kubeconfig file, as if it ran in pod SERVER_POD. */
export interface KubeHarness {
  fake: FakeKubernetes;
  server: ServerProcess;
  client: () => Promise<Client>;
  metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  close: () => Promise<void>;
}

export async function startKubeHarness(env: Record<string, string> = {}, prepare?: (fake: FakeKubernetes) => void): Promise<KubeHarness> {
  const fake = await new FakeKubernetes().start();
  prepare?.(fake);
  const dir = mkdtempSync(join(tmpdir(), 'kube-'));
  const clients: Client[] = [];
  let server: ServerProcess;
  try {
    server = await spawnServer({
      COMPUTER_PROVIDER: 'kubernetes',
      KUBECONFIG: fake.writeKubeconfig(dir),
      KUBERNETES_SERVICE_HOST: '',
      KUBERNETES_NAMESPACE: NS,
      KUBERNETES_RELEASE: RELEASE,
      POD_NAME: SERVER_POD.name,
      POD_UID: SERVER_POD.uid,
      POD_NAMESPACE: NS,
      POOL_MIN_WARM: '0',
      ...env,
    });
  } catch (e) {
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    fake,
    server,
    client: async () => {
      const c = new Client({ name: 'kube-test', version: '1' });
      await c.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      clients.push(c);
      return c;
    },
    metric: async (name, labels = {}) => {
      const text = await (await fetch(`${server.base}/metrics`)).text();
      const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (m && m[1] === name && want.every((w) => (m[2] ?? '').split(',').includes(w))) return Number(m[3]);
      }
      return 0;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      if (server.proc.exitCode === null) {
        server.proc.kill('SIGTERM');
        const killer = setTimeout(() => server.proc.kill('SIGKILL'), 15_000);
        await server.exited;
        clearTimeout(killer);
      }
      await fake.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
