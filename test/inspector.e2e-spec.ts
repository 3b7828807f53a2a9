import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fakeScreenText, imagesOf, sessionIdOf, startApp, TestApp, textOf } from './support/app';
import { mcpTools, runOnNode22 } from './support/mcp-tools';
import { alive } from './support/processes';
import { MAIN } from './support/server-process';
import { waitFor } from './support/wait-for';

/**
 * The MCP Inspector's CLI (@modelcontextprotocol/inspector 2.x, pinned in test/mcp-tools, on Node 22) as a user runs
 * it against this server: one-shot tool calls in each protocol era it can pin (`--protocol-era modern | legacy`) and
 * in `auto`, over Streamable HTTP against the running app and over stdio against `node dist/main.js --stdio` (with a
 * real Xvfb desktop). It never starts an OAuth login (`--stored-auth-only`, the API key as a header) and keeps its
 * files in a HOME of its own.
 */

type Era = 'modern' | 'legacy' | 'auto';
const KEY = 'key-inspector-0123456789abcdef';
const SERVER_INFO = 'io.modelcontextprotocol/serverInfo';

interface CallResult {
  content: { type: string; text?: string; data?: string; mimeType?: string }[];
  isError?: boolean;
  _meta?: Record<string, unknown>;
}

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'inspector-home-'));
});
afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

/** Runs the Inspector's CLI with `args`; resolves with its exit code and, when it printed one, the JSON-RPC result it got. */
async function inspector(args: string[]) {
  const { CONTAINER_NAME: _c, ...env } = process.env;
  const run = await runOnNode22(mcpTools.inspector(), ['--cli', '--format', 'json', '--quiet', '--stored-auth-only', ...args], { ...env, HOME: home }, 60_000);
  let result: CallResult | undefined;
  try {
    result = (JSON.parse(run.stdout) as { result?: CallResult }).result;
  } catch {
    result = undefined;
  }
  return { ...run, result, said: `exit ${run.code}\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 2000)}` };
}

const toolCall = (tool: string, args: Record<string, string>) => ['--method', 'tools/call', '--tool-name', tool, ...Object.entries(args).flatMap(([k, v]) => ['--tool-arg', `${k}=${v}`])];

describe('The MCP Inspector CLI over Streamable HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ API_KEYS: `${KEY}:inspector` });
  });
  afterAll(async () => t?.close());

  const http = (era: Era, ...rest: string[]) => inspector([t.url, '--transport', 'http', '--protocol-era', era, '--header', `Authorization: Bearer ${KEY}`, ...rest]);

  it('modern, legacy and auto each call a tool on one named session; the screen shows all three; only legacy opens an MCP session', async () => {
    const connections = async () => Number(/^cua_mcp_connections (\S+)$/m.exec(await (await fetch(t.url.replace(/\/mcp$/, '/metrics'))).text())?.[1]);
    const modern = await http('modern', ...toolCall('computer', { action: 'type', text: 'modern', session_id: 'insp' }));
    expect([modern.code, modern.result?.isError]).toEqual([0, undefined]);
    // A 2026-07-28 result names the server in its _meta; a 2025 one has no such field.
    expect(modern.result?._meta?.[SERVER_INFO]).toMatchObject({ name: 'cua-mcp-server' });
    expect(sessionIdOf(modern.result!)).toBe('insp');
    expect(await connections()).toBe(0);

    const legacy = await http('legacy', ...toolCall('computer', { action: 'type', text: '+legacy', session_id: 'insp' }));
    expect([legacy.code, legacy.result?.isError]).toEqual([0, undefined]);
    expect(legacy.result?._meta?.[SERVER_INFO]).toBeUndefined();
    expect(sessionIdOf(legacy.result!)).toBe('insp');
    // The Inspector ends without DELETE: its MCP session stays until its idle timeout.
    expect(await connections()).toBe(1);

    const auto = await http('auto', ...toolCall('screenshot_cua', { session_id: 'insp' }));
    expect(auto.code).toBe(0);
    expect(auto.result?._meta?.[SERVER_INFO]).toMatchObject({ name: 'cua-mcp-server' });
    expect(await fakeScreenText(auto.result!)).toBe('modern+legacy');
    expect(await connections()).toBe(1);
  }, 120_000);

  it('lists the same tools in both eras; a tool error is exit code 5 with the error in the result', async () => {
    const names = async (era: Era) => {
      const r = await http(era, '--method', 'tools/list');
      expect(r.code).toBe(0);
      return ((JSON.parse(r.stdout) as { result: { tools: { name: string }[] } }).result.tools ?? []).map((x) => x.name).sort();
    };
    const modern = await names('modern');
    expect(modern).toEqual(expect.arrayContaining(['screenshot_cua', 'computer', 'run_cua_task', 'list_sessions', 'create_session']));
    expect(await names('legacy')).toEqual(modern);
    for (const era of ['modern', 'legacy'] as const) {
      const failed = await http(era, ...toolCall('screenshot_cua', { session_id: 'no such session!' }));
      expect([era, failed.code]).toEqual([era, 5]);
      expect(textOf(failed.result ?? { content: [] })).toMatch(/INVALID_ARGUMENT|session_id/);
    }
  }, 120_000);
});

describe('The MCP Inspector CLI over stdio (node dist/main.js --stdio)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inspector-stdio-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(['modern', 'legacy', 'auto'] as const)('%s: screenshot_cua answers with the desktop\'s PNG and its session, and every server process it started exits', async (era) => {
    const spawns = join(dir, `spawns-${era}`);
    // Each start of the server (auto mode's probe, then the session's) notes its pid, as test/stdio.e2e-spec.ts does.
    const server = ['/bin/sh', '-c', 'echo $$ >> "$SPAWN_LOG"; exec "$0" "$@"', process.execPath, MAIN, '--stdio'];
    const env = { COMPUTER_PROVIDER: 'xvfb', DESKTOP_PROFILE: 'minimal', COMPUTER_NETWORK: 'off', CUA_MODEL_NAME: 'scripted/demo', SCREEN_WIDTH: '400', SCREEN_HEIGHT: '300', POOL_MIN_WARM: '0', SPAWN_LOG: spawns };
    const r = await inspector(['--protocol-era', era, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ...toolCall('screenshot_cua', {}), '--', ...server]);
    if (r.code !== 0 || !r.result) throw new Error(`the Inspector did not answer with a result:\n${r.said}`);
    expect(textOf(r.result)).toMatch(/^session ses_\S+: 400x300 PNG/m);
    expect(await sharp(Buffer.from(imagesOf(r.result)[0].data, 'base64')).metadata()).toMatchObject({ format: 'png', width: 400, height: 300 });
    // Pinned to 2025 there is no server/discover and no serverInfo in results; otherwise the era is 2026-07-28.
    if (era === 'legacy') expect(r.result._meta?.[SERVER_INFO]).toBeUndefined();
    else expect(r.result._meta?.[SERVER_INFO]).toMatchObject({ name: 'cua-mcp-server' });
    const pids = (await readFile(spawns, 'utf8')).trim().split('\n').map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    await waitFor('the server processes the Inspector started to exit', () => pids.every((p) => !alive(p)), 10_000);
  }, 120_000);
});
