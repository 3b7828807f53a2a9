import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { call, fakeScreenText, sessionIdOf, textOf } from './support/app';
import { alive } from './support/processes';
import { MAIN } from './support/server-process';
import { waitFor } from './support/wait-for';

/**
 * The command clients are told to use. Not `npm run …`: npm writes its banner ("> cua-mcp-server@… start")
 * on stdout before the server starts, and a stdio client reads those lines as broken JSON-RPC.
 */
describe('MCP over stdio (node dist/main.js --stdio)', () => {
  it('serves the tools on stdin/stdout, keeps one default session, logs only to stderr, and exits when the client leaves', async () => {
    const { CONTAINER_NAME: _c, ...env } = process.env as Record<string, string>;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, '--stdio'],
      env: { ...env, COMPUTER_PROVIDER: 'fake', CUA_MODEL_NAME: 'scripted/demo', SCREEN_WIDTH: '640', SCREEN_HEIGHT: '400', LOG_LEVEL: 'debug' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'stdio-e2e', version: '1' });
    // Anything on stdout that is not a JSON-RPC message (a banner, a stray log line) arrives here.
    const garbage: string[] = [];
    client.onerror = (e) => garbage.push(e.message);
    await client.connect(transport);
    const pid = transport.pid!;

    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['screenshot_cua', 'run_cua_task', 'run_multi_cua_tasks', 'get_session_stats', 'cleanup_session']));
    const first = await call(client, 'computer', { action: 'type', text: 'via stdio' });
    const task = await call(client, 'run_cua_task', { task: 'then this' });
    expect(textOf(task)).toMatch(/Answer: Done: then this/);
    const shot = await call(client, 'screenshot_cua');
    expect(sessionIdOf(shot)).toBe(sessionIdOf(first));
    expect(await fakeScreenText(shot)).toBe('via stdiothen this\n');
    expect(stderr).toMatch(/Serving MCP on stdio/);
    await expect(call(client, 'nope')).rejects.toMatchObject({ code: ErrorCode.InvalidParams, message: expect.stringMatching(/Unknown tool "nope"/) });
    expect(garbage).toEqual([]);

    await client.close();
    await waitFor('the server process to exit', () => !alive(pid), 10_000);
  }, 60_000);
});
