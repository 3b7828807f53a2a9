import { createServer } from 'node:net';
import { call, imagesOf, textOf } from './support/app';
import { ComputerServerProcess, spawnComputerServer } from './support/computer-server-process';
import { waitFor } from './support/wait-for';
import { KubeHarness, NS, startKubeHarness } from './support/kubernetes-server';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The whole path from the provider to a desktop: the built server against a FAKE Kubernetes API
 * whose desktop pod, once "scheduled", is a REAL computer-server (`node dist/main.js
 * computer-server`, a real Xvfb desktop) started by the test with the pod's own environment
 * (its API key), on 127.0.0.1 at KUBERNETES_DESKTOP_PORT — what the kubelet would run.
 */
describe('Kubernetes desktop pod → real computer-server (built server, fake Kubernetes API, real Xvfb)', () => {
  let h: KubeHarness | undefined;
  let desktop: ComputerServerProcess | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await desktop?.stop();
    desktop = undefined;
  });

  it('a real MCP screenshot and command come back from the pod’s desktop; cleanup deletes the pod once', async () => {
    const port = await freePort();
    h = await startKubeHarness({ KUBERNETES_DESKTOP_PORT: String(port), SCREEN_WIDTH: '800', SCREEN_HEIGHT: '600' });
    const client = await h.client();
    const shot = call(client, 'screenshot_cua', { session_id: 'real' });
    const created = await waitFor('a desktop pod', () => h!.fake.created.find((c) => c.kind === 'pods'));
    const env = Object.fromEntries((created.body.spec.containers[0].env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    const { COMPUTER_SERVER_API_KEY: apiKey, ...rest } = env;
    desktop = await spawnComputerServer({ port, apiKey, env: rest });
    h.fake.podReady(NS, created.name, '127.0.0.1');
    const r = await shot;
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toMatch(/800x600/);
    expect(imagesOf(r)[0].mimeType).toBe('image/png');
    expect(Buffer.from(imagesOf(r)[0].data, 'base64').length).toBeGreaterThan(1000);

    const cmd = await call(client, 'run_command', { command: 'echo hello-from-$((6*7))', session_id: 'real' });
    expect(cmd.isError).toBeFalsy();
    expect(textOf(cmd)).toMatch(/hello-from-42/);
    // Background programs reach the desktop too (launch, forwarded through the pod's computer).
    const bg = await call(client, 'run_command', { command: 'sleep 1; echo ran-on > ~/bg-mark; sleep 30', background: true, session_id: 'real' });
    expect(textOf(bg)).toMatch(/started in the background;/); // no pid: the desktop pod reports none
    // It went on after the call returned: its mark appears a second later.
    await waitFor('the background command\'s mark', async () => /ran-on/.test(textOf(await call(client, 'run_command', { command: 'cat ~/bg-mark 2>/dev/null; true', session_id: 'real' }))), 10_000);

    await call(client, 'cleanup_session', { session_id: 'real' });
    await waitFor('the pod to be gone', () => h!.fake.pods(NS).length === 0);
    expect(h.fake.deletes).toEqual([{ kind: 'pods', name: created.name, gracePeriodSeconds: 5, propagationPolicy: undefined }]);
  }, 60_000);
});
