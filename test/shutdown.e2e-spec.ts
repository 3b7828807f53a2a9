import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { alive, xvfbPids } from './support/processes';
import { call, textOf } from './support/app';
import { ServerProcess, spawnServer } from './support/server-process';
import { waitFor } from './support/wait-for';

/**
 * Starts run_cua_task on each client; `steps[i]` is the highest progress task i has reported
 * (0 once it has its computer and started, then the number of model steps done), -1 before.
 */
function runTasks(clients: Client[], task: (i: number) => string) {
  const steps = clients.map(() => -1);
  const settled = clients.map(() => false);
  const tasks = clients.map((c, i) =>
    call(c, 'run_cua_task', { task: task(i) }, { onprogress: (p) => void (steps[i] = Math.max(steps[i], p.progress)) }).finally(() => (settled[i] = true)),
  );
  return { tasks, steps, settled };
}

async function connect(url: string) {
  const client = new Client({ name: 'drain-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('Graceful shutdown on SIGTERM (built server, separate process)', () => {
  let server: ServerProcess | undefined;
  afterEach(() => {
    if (server?.proc.exitCode === null) server.proc.kill('SIGKILL');
  });

  it('readiness turns 503, running tasks finish within the grace period, new work is refused, every computer is freed, exit 0', async () => {
    // Tasks of 8 steps of 400 ms: still running well after readiness has turned.
    server = await spawnServer({ COMPUTER_PROVIDER: 'fake', SCRIPTED_MODEL_STEP_MS: '400', SCRIPTED_MODEL_STEPS: '8', SHUTDOWN_GRACE_MS: '10000' });
    const clients = await Promise.all([0, 1, 2].map(() => connect(server!.url)));
    const { tasks, steps, settled } = runTasks(clients, (i) => `job ${i}`);
    await waitFor('every task to have done a step', () => steps.every((s) => s >= 1));
    expect((await fetch(`${server.base}/health/ready`)).status).toBe(200);
    server.proc.kill('SIGTERM');
    // Readiness flips while the tasks are still running.
    await waitFor('readiness to turn 503', async () => (await fetch(`${server!.base}/health/ready`).catch(() => ({ status: 0 }))).status === 503);
    expect(settled).toEqual([false, false, false]);
    const refused = await call(clients[0], 'screenshot_cua', { session_id: 'late' });
    expect(textOf(refused)).toMatch(/SHUTTING_DOWN/);
    const results = await Promise.all(tasks);
    results.forEach((r, i) => expect(textOf(r)).toMatch(new RegExp(`Answer: Done: job ${i}`)));
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(server.output()).toMatch(/Shutdown done in \d+ ms: 3 call\(s\) finished, 0 aborted/);
    expect(server.output()).toMatch(/Drain|ended \(shutdown\)/);
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }, 60_000);

  it('past the grace period, running tasks are aborted with a clear error and the server still exits 0', async () => {
    server = await spawnServer({ COMPUTER_PROVIDER: 'fake', SCRIPTED_MODEL_STEP_MS: '60000', SHUTDOWN_GRACE_MS: '500' });
    const client = await connect(server.url);
    const {
      tasks: [task],
      steps,
    } = runTasks([client], () => 'never ends');
    await waitFor('the task to start', () => steps[0] >= 0);
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const r = await task;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/SHUTTING_DOWN.*grace period/);
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(server.output()).toMatch(/0 call\(s\) finished, 1 aborted/);
    await client.close().catch(() => undefined);
  }, 60_000);

  it('with real Xvfb desktops: tasks finish, then no desktop process is left', async () => {
    server = await spawnServer({ COMPUTER_PROVIDER: 'xvfb', SCRIPTED_MODEL_STEP_MS: '300', SHUTDOWN_GRACE_MS: '15000' });
    const clients = await Promise.all([0, 1].map(() => connect(server!.url)));
    const { tasks, steps } = runTasks(clients, (i) => `desk ${i}`);
    // Each task has done a model step, so its desktop is up and answered a screenshot: none is still starting.
    await waitFor('both tasks to have done a step on their desktops', () => steps.every((s) => s >= 1), 30_000);
    // Two leased desktops, plus the warm one the pool keeps in stock (POOL_MIN_WARM=1).
    const desktops = xvfbPids(server.proc.pid);
    expect(desktops.length).toBeGreaterThanOrEqual(2);
    server.proc.kill('SIGTERM');
    const results = await Promise.all(tasks);
    results.forEach((r, i) => expect(textOf(r)).toMatch(new RegExp(`Answer: Done: desk ${i}`)));
    expect((await server.exited).code).toBe(0);
    expect(desktops.filter(alive)).toEqual([]);
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }, 60_000);
});
