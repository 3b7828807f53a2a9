import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import scenarios from './conformance/scenarios.json';
import { call, startApp, TestApp } from './support/app';

const run = promisify(execFile);
/** The official suite needs Node 22; the node@22 npm package provides it on a Node 20 machine. */
const CONFORMANCE = ['-y', '-p', 'node@22', '-p', '@modelcontextprotocol/conformance@0.1.16', '--', 'conformance'];

async function conformance(args: string[]) {
  try {
    const { stdout, stderr } = await run('npx', [...CONFORMANCE, ...args], { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('Official MCP conformance suite', () => {
  let t: TestApp;
  let dir: string;
  // With TRAJECTORY_DIR the server offers resources (its trajectories): one task's is there to be listed.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conformance-traj-'));
    t = await startApp({ TRAJECTORY_DIR: dir });
    const client = await t.connect();
    expect((await call(client, 'run_cua_task', { task: 'leave a trajectory' })).isError).toBeFalsy();
    // The trajectory, and the live view's MCP Apps page (ui://, always listed while LIVE_VIEW is on).
    expect((await client.listResources()).resources.map((r) => r.uri.split(':')[0]).sort()).toEqual(['trajectory', 'ui']);
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every server scenario the suite lists is either run here or named as not applicable, with a reason', async () => {
    const listed = await conformance(['list', '--server']);
    expect(listed.code).toBe(0);
    const names = [...listed.out.matchAll(/^\s+- ([a-z0-9-]+) \[/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(10);
    const known = new Set([...scenarios.applicable, ...Object.keys(scenarios.notApplicable)]);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  }, 300_000);

  it.each(scenarios.applicable)('%s passes', async (scenario) => {
    const r = await conformance(['server', '--url', t.url, '--scenario', scenario]);
    expect(r.out).toMatch(/Passed: (\d+)\/\1, 0 failed/);
    expect(r.code).toBe(0);
  }, 300_000);
});
