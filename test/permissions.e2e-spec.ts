/**
 * Permissions per tool and the operator role, with access tokens from a real OpenID Provider (oidc-provider) on
 * loopback and API keys beside it, through the real app and the MCP SDK's client: what a token's scopes (or roles)
 * let a caller do, what the refusal says, and that an operator sees and ends others' sessions while a tenant
 * learns nothing of them.
 */
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, startApp, textOf, type TestApp } from './support/app';
import { freeLoopbackPort, startOpenIdProvider, type OpenIdProvider } from './support/openid-provider';
import { waitFor } from './support/wait-for';

const SCOPES = ['computers:use', 'agent:run', 'recordings:read', 'sessions:admin'];
const KEYS = { API_KEYS: 'key-erin-0123456789abcdef:erin@example.com,key-ops-0123456789abcdef:ops-key', API_KEY_OPERATORS: 'ops-key' };

let port: number;
let resource: string;
let op: OpenIdProvider;
let t: TestApp | undefined;
let dir: string;

beforeAll(async () => {
  port = await freeLoopbackPort();
  resource = `http://127.0.0.1:${port}/mcp`;
  op = await startOpenIdProvider({
    resources: { [resource]: SCOPES },
    clients: [
      { clientId: 'alice-svc', clientSecret: 'alice-secret-0123456789abcdef', claims: { email: 'alice@example.com' } },
      { clientId: 'bob-svc', clientSecret: 'bob-secret-0123456789abcdef', claims: { email: 'bob@example.com' } },
      { clientId: 'ops-svc', clientSecret: 'ops-secret-0123456789abcdef', claims: { email: 'ops@example.com' } },
      { clientId: 'lead-svc', clientSecret: 'lead-secret-0123456789abcdef', claims: { email: 'lead@example.com', roles: ['sessions:admin'] } },
    ],
  });
});
afterAll(() => op?.stop());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'permissions-'));
});
afterEach(async () => {
  await t?.close();
  t = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** The app on the resource's port, taking tokens of `op` (principal: the email claim, roles: `roles`) and the API keys of KEYS. */
async function start(env: Record<string, string> = {}) {
  t = await startApp({ PORT: String(port), OAUTH_ISSUER: op.issuer, OAUTH_RESOURCE: resource, OAUTH_PRINCIPAL_CLAIM: 'email', OAUTH_ROLES_CLAIM: 'roles', ...KEYS, ...env });
  return t;
}

async function token(clientId: string, scope: string): Promise<string> {
  const r = await op.clientCredentials(clientId, { resource, scope });
  if (!r.token) throw new Error(`no token for ${clientId}: ${JSON.stringify(r.body)}`);
  return r.token;
}

/** An MCP client sending this bearer value (an access token or an API key). */
async function connect(bearer: string, name = 'e2e') {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } }));
  t!.clients.push(client);
  return client;
}

const as = (client: Client) => ({
  call: (name: string, args: Record<string, unknown> = {}) => call(client, name, args),
  text: async (name: string, args: Record<string, unknown> = {}) => textOf(await call(client, name, args)),
});

describe('permissions per tool, with tokens of a real OpenID Provider', () => {
  it('a token with only computers:use drives computers but cannot run_cua_task (PERMISSION_DENIED naming agent:run and the scope to ask for); with agent:run it can', async () => {
    await start();
    const alice = as(await connect(await token('alice-svc', 'computers:use')));
    for (const tool of ['run_cua_task', 'run_multi_cua_tasks']) {
      const refused = await alice.call(tool, tool === 'run_cua_task' ? { task: 'open the terminal' } : { tasks: ['one', 'two'] });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(new RegExp(`^\\[PERMISSION_DENIED\\] ${tool} needs the permission agent:run, which your credentials do not grant \\(yours: computers:use\\)\\. Ask the authorization server for an access token with the scope agent:run`));
    }
    // Refused before anything happened: no session, no computer.
    expect(await alice.text('list_sessions')).toBe('You have no sessions.');
    expect(t!.fake.open()).toHaveLength(0);
    // The tools it may not call are still listed: the refusal, not a missing tool, tells the client what to ask for.
    expect((await t!.clients[0].listTools()).tools.map((x) => x.name)).toEqual(expect.arrayContaining(['run_cua_task', 'screenshot_cua']));
    expect((await alice.call('screenshot_cua')).isError).toBeFalsy();

    const agentOnly = as(await connect(await token('alice-svc', 'agent:run')));
    const done = await agentOnly.call('run_cua_task', { task: 'say hello', session_id: 'agent-desk' });
    expect(done.isError).toBeFalsy();
    expect(textOf(done)).toMatch(/Answer: Done: say hello/);
    // …while agent:run alone does not drive the computer directly.
    expect(await agentOnly.text('screenshot_cua', { session_id: 'agent-desk' })).toMatch(/^\[PERMISSION_DENIED\] screenshot_cua needs the permission computers:use/);
  });

  it('an operator (scope sessions:admin) lists every principal\'s sessions and ends another\'s: its running task stops saying so, and the session is gone for its owner', async () => {
    await start({ SCRIPTED_MODEL_STEPS: '40', SCRIPTED_MODEL_STEP_MS: '200' });
    const bob = as(await connect(await token('bob-svc', 'computers:use agent:run')));
    const created = await bob.call('create_session');
    const sid = (created.structuredContent as { session_id: string }).session_id;
    await bob.call('screenshot_cua', { session_id: 'named-desk' });
    const running = bob.call('run_cua_task', { task: 'a long task', session_id: sid });
    await waitFor('bob\'s task to run', () => (t!.fake.open()[0]?.log.length ?? 0) > 0);

    const ops = as(await connect(await token('ops-svc', 'sessions:admin')));
    const all = (await ops.call('list_sessions', { all_principals: true })).structuredContent as { sessions: { session_id: string; principal: string }[] };
    expect(all.sessions.map((s) => `${s.principal}/${s.session_id}`).sort()).toEqual([`bob@example.com/${sid}`, 'bob@example.com/named-desk'].sort());
    const bobs = (await ops.call('list_sessions', { principal: 'bob@example.com' })).structuredContent as { sessions: { session_id: string; principal: string }[] };
    expect(bobs.sessions.map((s) => s.session_id).sort()).toEqual([sid, 'named-desk'].sort());
    expect(bobs.sessions.every((s) => s.principal === 'bob@example.com')).toBe(true);

    const ended = await ops.call('cleanup_session', { session_id: sid, principal: 'bob@example.com' });
    expect(ended.structuredContent).toMatchObject({ session_id: sid, principal: 'bob@example.com', ended: true, aborted_tasks: 1 });
    const stopped = await running;
    expect(stopped.isError).toBe(true);
    expect(textOf(stopped)).toMatch(/SESSION_ENDED.*by an operator/s);
    expect(await bob.text('screenshot_cua', { session_id: sid })).toMatch(/^\[SESSION_NOT_FOUND\]/);
    expect(((await bob.call('list_sessions')).structuredContent as { sessions: { session_id: string }[] }).sessions.map((s) => s.session_id)).toEqual(['named-desk']);
    // The operator's own list is its own (sessions:admin lists it without computers:use): it has no sessions.
    expect(await ops.text('list_sessions')).toBe('You have no sessions.');
    // Operating on sessions is not using computers.
    expect(await ops.text('screenshot_cua')).toMatch(/^\[PERMISSION_DENIED\] screenshot_cua needs the permission computers:use/);
  });

  it('a tenant cannot: every operator argument is refused before anything is looked up, the refusal is the same whether the other\'s session exists or not, and that session lives on', async () => {
    await start();
    const bob = as(await connect(await token('bob-svc', 'computers:use')));
    await bob.call('screenshot_cua', { session_id: 'bobs-desk' });
    const alice = as(await connect(await token('alice-svc', 'computers:use agent:run recordings:read')));
    await alice.call('screenshot_cua', { session_id: 'alices-desk' });

    const everyone = await alice.text('list_sessions', { all_principals: true });
    expect(everyone).toMatch(/^\[PERMISSION_DENIED\] list_sessions with all_principals needs the permission sessions:admin, which your credentials do not grant \(yours: agent:run, computers:use, recordings:read\)/);
    expect(await alice.text('list_sessions', { principal: 'bob@example.com' })).toMatch(/^\[PERMISSION_DENIED\] list_sessions with principal needs the permission sessions:admin/);
    const existing = await alice.text('cleanup_session', { session_id: 'bobs-desk', principal: 'bob@example.com' });
    const missing = await alice.text('cleanup_session', { session_id: 'no-such-desk', principal: 'nobody@example.com' });
    expect(existing).toMatch(/^\[PERMISSION_DENIED\] cleanup_session with principal needs the permission sessions:admin/);
    expect(existing).toBe(missing);
    for (const text of [everyone, existing]) expect(text).not.toMatch(/bob|bobs-desk/);

    // Naming oneself is no operator's argument; one's own list never shows another's sessions.
    const own = (await alice.call('list_sessions', { principal: 'alice@example.com' })).structuredContent as { sessions: { session_id: string }[] };
    expect(own.sessions.map((s) => s.session_id)).toEqual(['alices-desk']);
    expect(JSON.stringify((await alice.call('get_session_stats')).structuredContent)).not.toMatch(/bob/);
    // Bob's session is untouched.
    expect((await bob.call('screenshot_cua', { session_id: 'bobs-desk' })).isError).toBeFalsy();
    expect(t!.fake.open()).toHaveLength(2);
  });

  it('sessions:admin as a role (OAUTH_ROLES_CLAIM) makes an operator too; an API key is one only when API_KEY_OPERATORS names its principal, and a tenant key is told so', async () => {
    await start();
    const erin = as(await connect('key-erin-0123456789abcdef'));
    await erin.call('screenshot_cua', { session_id: 'erins-desk' });
    const lead = as(await connect(await token('lead-svc', 'computers:use')));
    const byRole = (await lead.call('list_sessions', { all_principals: true })).structuredContent as { sessions: { principal: string; session_id: string }[] };
    expect(byRole.sessions.map((s) => `${s.principal}/${s.session_id}`)).toEqual(['erin@example.com/erins-desk']);

    const opsKey = as(await connect('key-ops-0123456789abcdef'));
    expect(((await opsKey.call('list_sessions', { principal: 'erin@example.com' })).structuredContent as { sessions: unknown[] }).sessions).toHaveLength(1);
    expect((await opsKey.call('cleanup_session', { session_id: 'erins-desk', principal: 'erin@example.com' })).structuredContent).toMatchObject({ ended: true });
    expect(await erin.text('list_sessions')).toBe('You have no sessions.');

    expect(await erin.text('list_sessions', { all_principals: true })).toMatch(
      /^\[PERMISSION_DENIED\] list_sessions with all_principals needs the permission sessions:admin, which your credentials do not grant \(yours: agent:run, computers:use, recordings:read\)\. An API key grants it only when the server's operator lists its principal in API_KEY_OPERATORS/,
    );
  });

  it('the same holds in the 2026-07-28 era (no MCP sessions: each request carries its token, checked per call)', async () => {
    await start();
    const modern = async (bearer: string) => {
      const client = new V2Client({ name: 'e2e-v2', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await client.connect(new V2HttpTransport(new URL(resource), { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } }));
      return client;
    };
    const text = (r: unknown) => textOf(r as { content?: unknown });
    const bob = await modern(await token('bob-svc', 'computers:use'));
    const ops = await modern(await token('ops-svc', 'sessions:admin'));
    try {
      expect(text(await bob.callTool({ name: 'run_cua_task', arguments: { task: 'x' } }))).toMatch(/^\[PERMISSION_DENIED\] run_cua_task needs the permission agent:run/);
      expect((await bob.callTool({ name: 'screenshot_cua', arguments: { session_id: 'modern-desk' } })).isError).toBeFalsy();
      expect(text(await bob.callTool({ name: 'list_sessions', arguments: { all_principals: true } }))).toMatch(/^\[PERMISSION_DENIED\] list_sessions with all_principals needs the permission sessions:admin/);
      const listed = (await ops.callTool({ name: 'list_sessions', arguments: { all_principals: true } })).structuredContent as { sessions: { principal: string; session_id: string }[] };
      expect(listed.sessions.map((x) => `${x.principal}/${x.session_id}`)).toEqual(['bob@example.com/modern-desk']);
    } finally {
      await Promise.all([bob.close(), ops.close()]);
    }
  });

  it('recordings:read: without it a principal\'s trajectories are not listed and reading one names the missing permission; with it, the same principal reads them', async () => {
    await start({ TRAJECTORY_DIR: dir, SCRIPTED_MODEL_STEPS: '2' });
    const runner = await connect(await token('alice-svc', 'computers:use agent:run'));
    expect((await call(runner, 'run_cua_task', { task: 'keep a trajectory', session_id: 'desk' })).isError).toBeFalsy();
    expect((await runner.listResources()).resources.filter((r) => r.uri.startsWith('trajectory://'))).toEqual([]);

    const reader = await connect(await token('alice-svc', 'recordings:read'));
    const listed = (await reader.listResources()).resources.filter((r) => r.uri.startsWith('trajectory://'));
    expect(listed).toHaveLength(1);
    expect(JSON.parse(((await reader.readResource({ uri: listed[0].uri })).contents[0] as { text: string }).text)).toMatchObject({ task: 'keep a trajectory' });
    await expect(runner.readResource({ uri: listed[0].uri })).rejects.toThrow(
      /\[PERMISSION_DENIED\] Reading trajectories needs the permission recordings:read, which your credentials do not grant \(yours: agent:run, computers:use\)\. Ask the authorization server for an access token with the scope recordings:read/,
    );
  });
});
