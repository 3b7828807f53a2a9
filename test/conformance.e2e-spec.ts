import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpServerExtras } from '../src/mcp/mcp.module';
import scenarios from './conformance/scenarios.json';
import { call, startApp, TestApp } from './support/app';
import { ConformanceFixtures } from './support/conformance-fixtures';
import { mcpTools, runOnNode22 } from './support/mcp-tools';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in test/mcp-tools) against the real
 * app, once per protocol era on the one endpoint /mcp: every server scenario the suite lists as required for that
 * revision (`list --requirements`), and those it reports but does not score, is either run here at that revision's
 * wire or named in test/conformance/scenarios.json as not applicable, with the reason. The app carries the suite's
 * fixture tools, prompts and resources (test/support/conformance-fixtures.ts), which the suite calls by name.
 */

type Era = keyof typeof scenarios;
interface EraScenarios {
  run: string[];
  notApplicable: Record<string, string>;
  /** Checks that may end as WARNING (a SHOULD the server does not meet), by scenario, with the reason. */
  warnings: Record<string, Record<string, string>>;
}
const ERAS = Object.keys(scenarios) as Era[];
const plan = (era: Era) => scenarios[era] as EraScenarios;

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

const env = () => {
  const { CONTAINER_NAME: _c, ...rest } = process.env;
  return rest;
};

async function conformance(args: string[]) {
  return runOnNode22(mcpTools.conformance(), args, env(), 120_000);
}

/** The server scenarios `list --requirements <era>` names: those required, and those it runs but does not score (marked [server]). */
function serverScenarios(listing: string): string[] {
  const names: string[] = [];
  let section = '';
  for (const line of listing.split('\n')) {
    if (/^\S.*:$/.test(line.trim()) && !line.startsWith('    ')) section = line.trim();
    const m = /^\s+- (\S+)(?: \[(\w+)\])?$/.exec(line);
    if (!m) continue;
    if (section.startsWith('Server scenarios') || m[2] === 'server') names.push(m[1]);
  }
  return names;
}

describe('The official MCP conformance suite, both protocol eras on /mcp', () => {
  let t: TestApp;
  let dir: string;
  // With TRAJECTORY_DIR the server offers resources (its trajectories): one task's is there to be listed.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conformance-'));
    t = await startApp({ TRAJECTORY_DIR: join(dir, 'trajectories') }, [], [[McpServerExtras, new ConformanceFixtures()]]);
    const client = await t.connect();
    expect((await call(client, 'run_cua_task', { task: 'leave a trajectory' })).isError).toBeFalsy();
    // The trajectory, the live view's MCP Apps page (ui://, always listed while LIVE_VIEW is on) and the suite's fixtures.
    expect(new Set((await client.listResources()).resources.map((r) => r.uri.split(':')[0]))).toEqual(new Set(['trajectory', 'ui', 'test']));
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe.each(ERAS)('%s', (era) => {
    it('every server scenario the suite lists for this revision is run here or named as not applicable, with a reason', async () => {
      const listed = await conformance(['list', '--requirements', era]);
      expect(listed.code).toBe(0);
      const names = serverScenarios(listed.stdout);
      expect(names.length).toBeGreaterThan(20);
      const { run, notApplicable } = plan(era);
      expect(names.filter((n) => !run.includes(n) && !(n in notApplicable))).toEqual([]);
      // And nothing here that the suite no longer lists for this revision.
      expect([...run, ...Object.keys(notApplicable)].filter((n) => !names.includes(n))).toEqual([]);
      for (const reason of Object.values(notApplicable)) expect(reason.length).toBeGreaterThan(20);
    }, 120_000);

    it.each(plan(era).run)('%s passes', async (scenario) => {
      const out = await mkdtemp(join(dir, `${era}-${scenario}-`));
      const r = await conformance(['server', '--url', t.url, '--scenario', scenario, '--spec-version', era, '-o', out]);
      const [results] = await readdir(out);
      const checks = JSON.parse(await readFile(join(out, results, 'checks.json'), 'utf8')) as Check[];
      const said = (c: Check) => `${c.id}: ${c.errorMessage ?? ''}`;
      expect(checks.filter((c) => c.status === 'FAILURE').map(said)).toEqual([]);
      expect(checks.filter((c) => c.status === 'SUCCESS').length).toBeGreaterThan(0);
      // A warning (a SHOULD not met) only where scenarios.json says why.
      const explained = plan(era).warnings[scenario] ?? {};
      expect(checks.filter((c) => c.status === 'WARNING' && !(c.id in explained)).map(said)).toEqual([]);
      expect(r.code).toBe(0);
    }, 120_000);
  });
});
