import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { OMITTED as ANTHROPIC_OMITTED } from '../src/agent/anthropic/anthropic-model.provider';
import { OMITTED as CHAT_OMITTED } from '../src/agent/openai-compatible/openai-compatible-model.provider';
import { NOT_EXECUTED } from '../src/agent/agent.module';
import { FakeComputerProvider } from '../src/computer/computer.module';
import { call, fakeScreenText, startApp, TestApp, textOf } from './support/app';
import { anthropic, chat, hang, Json, openai, pngSize, Reply, VendorServer } from './support/vendor-server';
import { waitFor } from './support/wait-for';

const KEY = 'sk-test-0123456789abcdefSECRET';

/** Every object in a JSON value matching `pred`. */
function findAll(value: unknown, pred: (o: Json) => boolean, out: Json[] = []): Json[] {
  if (Array.isArray(value)) value.forEach((v) => findAll(v, pred, out));
  else if (value && typeof value === 'object') {
    if (pred(value)) out.push(value);
    Object.values(value).forEach((v) => findAll(v, pred, out));
  }
  return out;
}
const images = (body: unknown) => findAll(body, (o) => o.type === 'image' || o.type === 'image_url' || o.type === 'input_image');
const texts = (body: unknown, text: string) => findAll(body, (o) => o.type === 'text' && o.text === text);

describe('The agent with real model providers (vendor SDKs against local servers, fake computers)', () => {
  let t: TestApp;
  let vendor: VendorServer;
  beforeEach(async () => {
    vendor = await VendorServer.start();
  });
  afterEach(async () => {
    await t?.close();
    await vendor.close();
  });
  const computerLog = () => t.app.get(FakeComputerProvider).created.flatMap((c) => c.log).filter((l) => !['capture', 'screenSize'].includes(l));

  describe('anthropic', () => {
    const env = (extra: Record<string, string> = {}) => ({
      CUA_MODEL_NAME: 'anthropic/claude-sonnet-5-5',
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: vendor.url,
      AGENT_RETRY_BASE_MS: '10',
      ...extra,
    });

    it('GA toolset: clicks, types and finishes; the screen shows the text; answer, steps and usage come back', async () => {
      const turn = anthropic.toolset([{ name: 'left_click', input: { coordinate: [320, 200] } }, { name: 'type', input: { text: 'hello world' } }], 'I will type it.');
      vendor.reply(turn, anthropic.answer('Typed "hello world".'));
      t = await startApp(env());
      const client = await t.connect();
      const r = await call(client, 'run_cua_task', { task: 'type hello world' });
      expect(r.isError).toBeFalsy();
      expect(await fakeScreenText(r)).toBe('hello world');
      expect(computerLog()).toEqual(['click left x1 320,200', 'type hello world']);
      expect(textOf(r)).toMatch(/Answer: Typed "hello world"\.[\s\S]*1\. left_click at \(320, 200\); typed "hello world"[\s\S]*Usage: 200 input \+ 40 output tokens/);
      expect(r.structuredContent).toMatchObject({
        answer: 'Typed "hello world".',
        model: 'anthropic/claude-sonnet-5-5',
        usage: { input_tokens: 200, output_tokens: 40, total_tokens: 240 },
        steps: [{ step: 1, thought: 'I will type it.', actions: [{ action: 'left_click', coordinate: [320, 200] }, { action: 'type', text: 'hello world' }] }, { step: 2 }],
      });

      const [first, second] = vendor.received;
      expect(first.path).toBe('/v1/messages');
      expect(first.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(first.headers['anthropic-beta']).toBeUndefined();
      expect(first.body.model).toBe('claude-sonnet-5-5');
      // Every member is served, zoom included, so the entry switches none off.
      expect(first.body.tools).toEqual([{ type: 'computer_toolset_20260801' }]);
      expect(first.body.messages[0].content[0]).toEqual({ type: 'text', text: 'type hello world' });
      expect(pngSize(images(first.body)[0].source.data)).toEqual({ width: 640, height: 400 });
      // The assistant turn goes back unchanged, then one tool_result per member call (toolset_name echoed), then the screen.
      expect(second.body.messages[1]).toEqual({ role: 'assistant', content: turn.body.content });
      const results = second.body.messages[2].content;
      const ids = (turn.body.content as { id?: string }[]).map((b) => b.id);
      expect(results.slice(0, 2)).toEqual([
        { type: 'tool_result', tool_use_id: ids[1], toolset_name: 'computer', content: [{ type: 'text', text: 'Clicked.' }] },
        { type: 'tool_result', tool_use_id: ids[2], toolset_name: 'computer', content: [{ type: 'text', text: 'Typed.' }] },
      ]);
      expect(results[3]).toMatchObject({ type: 'image', source: { type: 'base64', media_type: 'image/png' } });
    });

    it('GA toolset: a screenshot in mid-turn shows the screen at that moment; zoom returns the region enlarged', async () => {
      const turn = anthropic.toolset([
        { name: 'type', input: { text: 'ab' } },
        { name: 'screenshot' },
        { name: 'type', input: { text: 'cd' } },
        { name: 'zoom', input: { region: [0, 0, 160, 100] } },
      ]);
      vendor.reply(turn, anthropic.answer('done'));
      t = await startApp(env());
      const r = await call(await t.connect(), 'run_cua_task', { task: 'type and look' });
      expect(r.isError).toBeFalsy();
      expect(await fakeScreenText(r)).toBe('abcd');
      const results = vendor.received[1].body.messages[2].content;
      const ids = (turn.body.content as { id?: string }[]).map((b) => b.id);
      const imageOf = (toolUseId: string | undefined) => {
        const block = results.find((b: Json) => b.tool_use_id === toolUseId);
        return block.content.find((c: Json) => c.type === 'image').source;
      };
      // The mid-turn screenshot was taken between the two type actions.
      const mid = imageOf(ids[2]);
      expect(await fakeScreenText({ content: [{ type: 'image', data: mid.data, mimeType: mid.media_type }] })).toBe('ab');
      // The zoom: a 160x100 region of the 640x400 screenshot, enlarged four times.
      expect(pngSize(imageOf(ids[4]).data)).toEqual({ width: 640, height: 400 });
      // The screen after the turn follows the results, showing all of it.
      const after = results.at(-1);
      expect(await fakeScreenText({ content: [{ type: 'image', data: after.source.data, mimeType: after.source.media_type }] })).toBe('abcd');
    });

    it('a zoom outside the screenshot is an error result that names the valid range', async () => {
      vendor.reply(anthropic.toolset([{ name: 'zoom', input: { region: [600, 0, 700, 50] } }]), anthropic.answer('ok'));
      t = await startApp(env());
      const r = await call(await t.connect(), 'run_cua_task', { task: 'zoom too far' });
      expect(r.isError).toBeFalsy();
      const result = vendor.received[1].body.messages[2].content[0];
      expect(result).toMatchObject({ type: 'tool_result', is_error: true });
      expect(JSON.stringify(result.content)).toMatch(/x1 <= 640/);
    });

    it('computer_20251124 offers zoom (enable_zoom) and answers it with the enlarged region', async () => {
      vendor.reply(anthropic.computer([{ action: 'zoom', region: [320, 200, 640, 400] }]), anthropic.answer('read it'));
      t = await startApp(env({ CUA_MODEL_NAME: 'anthropic/claude-opus-4-6' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'read the corner' });
      expect(r.isError).toBeFalsy();
      const [first, second] = vendor.received;
      expect(first.headers['anthropic-beta']).toBe('computer-use-2025-11-24');
      expect(first.body.tools).toEqual([{ type: 'computer_20251124', name: 'computer', display_width_px: 640, display_height_px: 400, enable_zoom: true }]);
      const result = second.body.messages[2].content[0];
      expect(result.content[0].text).toMatch(/zoomed into \(320, 200\)-\(640, 400\)/);
      // 320x200 enlarged to fill the budget: at most 4x, within 1568 px and 1.15 MP.
      const zoomed = pngSize(result.content[1].source.data);
      expect(zoomed.width / zoomed.height).toBeCloseTo(1.6, 1);
      expect(zoomed.width).toBeGreaterThan(320);
      expect(zoomed.width * zoomed.height).toBeLessThanOrEqual(1_150_000);
    });

    it('versioned tool (claude-sonnet-4-5 → computer_20250124 + beta flag): a failed action is an error result and the rest of the turn is not run', async () => {
      vendor.reply(
        anthropic.computer([{ action: 'left_click', coordinate: [10, 10] }, { action: 'key', text: 'ctrl+nosuchkey' }, { action: 'type', text: 'never' }]),
        anthropic.answer('gave up'),
      );
      t = await startApp(env({ CUA_MODEL_NAME: 'anthropic/claude-sonnet-4-5-20250929' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'try keys' });
      expect(r.isError).toBeFalsy();
      expect(computerLog()).toEqual(['click left x1 10,10']);
      const [first, second] = vendor.received;
      expect(first.path).toBe('/v1/messages');
      expect(first.headers['anthropic-beta']).toBe('computer-use-2025-01-24');
      expect(first.body.tools).toEqual([{ type: 'computer_20250124', name: 'computer', display_width_px: 640, display_height_px: 400 }]);
      const results = second.body.messages[2].content;
      expect(results[0]).toMatchObject({ type: 'tool_result', content: [{ type: 'text', text: 'left_click at (10, 10)' }] });
      expect(results[0].is_error).toBeUndefined();
      expect(results[1]).toMatchObject({ type: 'tool_result', is_error: true, content: [{ type: 'text', text: expect.stringMatching(/Unknown key "nosuchkey"/) }] });
      expect(results[2]).toMatchObject({ type: 'tool_result', is_error: true, content: [{ type: 'text', text: NOT_EXECUTED }] });
      expect(results[4]).toMatchObject({ type: 'image' });
    });

    it('maps coordinates from the downscaled screenshot to a larger screen (1920x1200)', async () => {
      vendor.reply(anthropic.toolset([{ name: 'left_click', input: { coordinate: [678, 423] } }]), anthropic.answer('clicked'));
      t = await startApp(env({ SCREEN_WIDTH: '1920', SCREEN_HEIGHT: '1200' }));
      await call(await t.connect(), 'run_cua_task', { task: 'click the middle' });
      const shot = pngSize(images(vendor.received[0].body)[0].source.data);
      expect(shot).toEqual({ width: 1356, height: 847 }); // ≤ 1568 px long edge, ≤ 1.15 MP
      const scale = shot.width / 1920;
      expect(computerLog()).toEqual([`click left x1 ${Math.round(678 / scale)},${Math.round(423 / scale)}`]);
      expect(computerLog()).toEqual(['click left x1 960,599']);
    });

    it('sends only the CUA_MAX_IMAGES most recent screenshots; older ones become a text placeholder', async () => {
      const click = anthropic.toolset([{ name: 'left_click', input: { coordinate: [5, 5] } }]);
      vendor.reply(click, anthropic.toolset([{ name: 'left_click', input: { coordinate: [6, 6] } }]), anthropic.toolset([{ name: 'screenshot' }]), anthropic.answer('done'));
      t = await startApp(env({ CUA_MAX_IMAGES: '2' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'look around' });
      expect(r.isError).toBeFalsy();
      expect(vendor.received.map((q) => images(q.body).length)).toEqual([1, 2, 2, 2]);
      expect(vendor.received.map((q) => texts(q.body, ANTHROPIC_OMITTED).length)).toEqual([0, 0, 1, 2]);
      // The last turn asked for a screenshot: its tool_result carries the current screen.
      const last = vendor.received[3].body.messages.at(-1).content;
      expect(last[0]).toMatchObject({ type: 'tool_result', toolset_name: 'computer', content: [{ type: 'image' }] });
    });

    it('retries a 429 after the retry-after the server asked for, then succeeds', async () => {
      vendor.reply(anthropic.error(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', { 'retry-after': '1' }), anthropic.answer('after the wait'));
      t = await startApp(env());
      const r = await call(await t.connect(), 'run_cua_task', { task: 'anything' });
      expect(textOf(r)).toMatch(/Answer: after the wait/);
      expect(vendor.received).toHaveLength(2);
      expect(vendor.received[1].at - vendor.received[0].at).toBeGreaterThanOrEqual(950);
    });

    it('a model server that drops the connection is retried, then the task goes on', async () => {
      const drop = (_req: unknown, res: { socket: { destroy(): void } | null }) => void res.socket?.destroy();
      vendor.reply(drop, drop, anthropic.answer('after the drops'));
      t = await startApp(env({ AGENT_RETRY_BASE_MS: '50', AGENT_RETRY_MAX_MS: '100' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'anything' });
      expect(textOf(r)).toMatch(/Answer: after the drops/);
      expect(vendor.received).toHaveLength(3);
    });

    it('a model server that keeps dropping the connection: a clear MODEL_ERROR after the retries, and the server carries on', async () => {
      const drop = (_req: unknown, res: { socket: { destroy(): void } | null }) => void res.socket?.destroy();
      vendor.reply(drop, drop, drop);
      t = await startApp(env({ AGENT_RETRY_BASE_MS: '20', AGENT_RETRY_MAX_MS: '40', AGENT_MAX_RETRIES: '2' }));
      const client = await t.connect();
      const r = await call(client, 'run_cua_task', { task: 'anything' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/\[MODEL_ERROR\]/);
      expect(vendor.received).toHaveLength(3);
      expect((await call(client, 'screenshot_cua')).isError).toBeFalsy();
    });

    it('a 401 stops at once with the vendor message (no retry, no key in the text)', async () => {
      vendor.always(anthropic.error(401, 'authentication_error', 'invalid x-api-key'));
      t = await startApp(env());
      const r = await call(await t.connect(), 'run_cua_task', { task: 'anything' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/\[MODEL_ERROR\] The model anthropic\/claude-sonnet-5-5 failed: 401 authentication_error: invalid x-api-key/);
      expect(textOf(r)).not.toContain(KEY);
      expect(vendor.received).toHaveLength(1);
    });

    it('a vendor that echoes the key in pieces: the result, the trajectory and the server log hold no 8 characters of it, and still say what failed', async () => {
      const key = 'sk-ant-api03-Zq8vR2mKx7LpT4wN9cYb6HdF3jUe5sGa1oQi0kVh-Tr4Yw2Aa';
      // A proxy that quotes the key it received in every way vendors and proxies do.
      const echo =
        (status: number, type: string): Reply =>
        (req, res) => {
          const got = String(req.headers.authorization).replace(/^Bearer /, '');
          const message = [
            `key rejected: ${got.slice(0, 14)}…${got.slice(-4)}`,
            `looked like ${got.slice(3, 11)}****${got.slice(-9)}`,
            `retry at /v1/messages?key=${encodeURIComponent(got)}`,
            `request was:\nx-api-key: ${got}\nAuthorization: Bearer ${got}\nProxy-Authorization: Basic ${Buffer.from(`proxy:${got}`).toString('base64')}`,
            `wrapped: ${got.slice(0, 15)}\n${got.slice(15)}`,
          ].join('\n');
          res.writeHead(status, { 'content-type': 'application/json', 'retry-after-ms': '1' }).end(JSON.stringify({ type: 'error', error: { type, message } }));
        };
      vendor.reply(anthropic.toolset([{ name: 'left_click', input: { coordinate: [10, 10] } }]), echo(529, 'overloaded_error'), echo(401, 'authentication_error'));
      const dir = await mkdtemp(join(tmpdir(), 'traj-echo-'));
      const output: string[] = [];
      for (const stream of [process.stdout, process.stderr]) {
        jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => output.push(String(chunk)) > 0);
      }
      try {
        t = await startApp(env({ ANTHROPIC_API_KEY: key, TRAJECTORY_DIR: dir, LOG_LEVEL: 'debug' }));
        const client = await t.connect();
        const notes: unknown[] = [];
        client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void notes.push(n.params.data));
        const r = await call(client, 'run_cua_task', { task: 'anything' }, { onprogress: (p) => void notes.push(p) });
        await t.close();
        expect(vendor.received.map((q) => q.headers.authorization)).toEqual([`Bearer ${key}`, `Bearer ${key}`, `Bearer ${key}`]);

        expect(r.isError).toBe(true);
        expect(textOf(r)).toMatch(/^Task failed: \[MODEL_ERROR\] The model anthropic\/claude-sonnet-5-5 failed after 2 attempts: 401 authentication_error: key rejected: \[redacted\]/);
        const log = output.join('');
        expect(log).toMatch(/HTTP 529 \(529 overloaded_error: key rejected: \[redacted\]/);
        const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((f) => f.isFile() && /\.jsonl?$/.test(f.name));
        expect(files.map((f) => f.name).sort()).toEqual(['steps.jsonl', 'task.json']);
        const trajectory = (await Promise.all(files.map((f) => readFile(join(f.parentPath, f.name), 'utf8')))).join('\n');
        expect(trajectory).toMatch(/"error": "\[MODEL_ERROR\] The model anthropic\/claude-sonnet-5-5 failed after 2 attempts: 401 authentication_error/);

        const seen = [textOf(r), JSON.stringify(r.structuredContent ?? null), JSON.stringify(notes), trajectory, log].join('\n');
        for (let i = 0; i + 8 <= key.length; i++) expect(seen).not.toContain(key.slice(i, i + 8));
      } finally {
        jest.restoreAllMocks();
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('stops at AGENT_MAX_STEPS with what was done', async () => {
      vendor.always(anthropic.toolset([{ name: 'left_click', input: { coordinate: [1, 1] } }]));
      t = await startApp(env({ AGENT_MAX_STEPS: '2' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'forever' });
      expect(textOf(r)).toMatch(/\[AGENT_STEP_LIMIT\].*within 2 steps[\s\S]*Steps done before it stopped:\n {2}1\. left_click at \(1, 1\)\n {2}2\. left_click/);
      expect(vendor.received).toHaveLength(2);
    });

    it('stops at AGENT_TASK_TIMEOUT_MS and aborts the model request in flight', async () => {
      vendor.reply(hang);
      t = await startApp(env({ AGENT_TASK_TIMEOUT_MS: '400' }));
      const t0 = Date.now();
      const r = await call(await t.connect(), 'run_cua_task', { task: 'slow model' });
      expect(textOf(r)).toMatch(/\[TIMEOUT\] The task did not finish within 400 ms \(AGENT_TASK_TIMEOUT_MS\)/);
      expect(Date.now() - t0).toBeLessThan(3000);
      await waitFor('the model request to be aborted', () => vendor.abortedByClient === 1);
    });

    it('cancelling during a slow model call aborts the HTTP request, and no later action touches the computer', async () => {
      vendor.reply(anthropic.toolset([{ name: 'left_click', input: { coordinate: [3, 3] } }]), hang, anthropic.toolset([{ name: 'type', input: { text: 'late' } }]));
      t = await startApp(env());
      const client = await t.connect();
      const ac = new AbortController();
      const running = call(client, 'run_cua_task', { task: 'to be cancelled' }, { signal: ac.signal });
      await waitFor('the second model request', () => vendor.received.length === 2);
      ac.abort();
      await expect(running).rejects.toThrow();
      await waitFor('the model request to be aborted', () => vendor.abortedByClient === 1);
      // The task is over on the server, not only the request: nothing of it is left to act later.
      await waitFor('the task to end on the server', async () => {
        const { sessions } = (await call(client, 'get_session_stats')).structuredContent as { sessions: Record<string, { active_tasks: number }> };
        return Object.values(sessions).every((s) => s.active_tasks === 0);
      });
      expect(computerLog()).toEqual(['click left x1 3,3']);
      expect(vendor.received).toHaveLength(2);
    });

    it('the default model without a key: the server starts, the low-level tools work, run_cua_task says which setting to set', async () => {
      t = await startApp({ CUA_MODEL_NAME: '' });
      const client = await t.connect();
      expect((await call(client, 'screenshot_cua')).isError).toBeFalsy();
      const r = await call(client, 'run_cua_task', { task: 'anything' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/\[MODEL_ERROR\] The model anthropic\/claude-sonnet-5-5 needs an API key: set ANTHROPIC_API_KEY/);
    });

    it('an explicit CUA_MODEL_NAME without its key stops the boot, listing the valid forms', async () => {
      await expect(startApp({ CUA_MODEL_NAME: 'anthropic/claude-opus-5' })).rejects.toThrow(
        /CUA_MODEL_NAME=anthropic\/claude-opus-5: .*set ANTHROPIC_API_KEY.*Valid forms: anthropic\/<model> \(needs ANTHROPIC_API_KEY\).*openai\/<model> \(needs OPENAI_API_KEY\).*openai-compatible\/<model> \(needs OPENAI_COMPATIBLE_BASE_URL\)/,
      );
    });
  });

  it('a call may pick a model listed in AGENT_ALLOWED_MODELS, and gets INVALID_ARGUMENT for any other', async () => {
    vendor.reply(anthropic.answer('from claude'));
    t = await startApp({ AGENT_ALLOWED_MODELS: 'anthropic/claude-opus-5, scripted/other', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: vendor.url });
    const client = await t.connect();
    const picked = await call(client, 'run_cua_task', { task: 'hi', model: 'anthropic/claude-opus-5' });
    expect(picked.structuredContent).toMatchObject({ answer: 'from claude', model: 'anthropic/claude-opus-5' });
    expect(vendor.received[0].body.model).toBe('claude-opus-5');
    const byDefault = await call(client, 'run_cua_task', { task: 'hi' });
    expect(byDefault.structuredContent).toMatchObject({ model: 'scripted/demo' });
    const refused = await call(client, 'run_multi_cua_tasks', { tasks: ['a'], model: 'openai/gpt-5.4' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/\[INVALID_ARGUMENT\] model "openai\/gpt-5.4" is not allowed on this server. Allowed: scripted\/demo, anthropic\/claude-opus-5, scripted\/other \(AGENT_ALLOWED_MODELS\)/);
  });

  describe('openai', () => {
    const env = (extra: Record<string, string> = {}) => ({ CUA_MODEL_NAME: 'openai/gpt-5.4', OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${vendor.url}/v1`, ...extra });

    it('GA computer tool: a batch of actions, chained with previous_response_id and computer_call_output screenshots', async () => {
      const turn = openai.actions([{ type: 'click', button: 'left', x: 100, y: 50 }, { type: 'type', text: 'hi there' }, { type: 'keypress', keys: ['ENTER'] }]);
      vendor.reply(turn, openai.answer('All typed.'));
      t = await startApp(env());
      const r = await call(await t.connect(), 'run_cua_task', { task: 'say hi' });
      expect(r.structuredContent).toMatchObject({ answer: 'All typed.', usage: { input_tokens: 200, output_tokens: 40 } });
      expect(await fakeScreenText(r)).toBe('hi there\n');
      expect(computerLog()).toEqual(['click left x1 100,50', 'type hi there', 'key Return']);
      const [first, second] = vendor.received;
      expect(first.path).toBe('/v1/responses');
      expect(first.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(first.body.tools).toEqual([{ type: 'computer' }]);
      expect(first.body.previous_response_id).toBeUndefined();
      expect(first.body.input[0].content).toEqual([{ type: 'input_text', text: 'say hi' }, expect.objectContaining({ type: 'input_image', image_url: expect.stringMatching(/^data:image\/png;base64,/) })]);
      expect(second.body.previous_response_id).toBe(turn.body.id);
      expect(second.body.input).toEqual([
        { type: 'computer_call_output', call_id: (turn.body.output[0] as { call_id: string }).call_id, output: { type: 'computer_screenshot', image_url: expect.stringMatching(/^data:image\/png;base64,/) } },
      ]);
    });

    it('computer-use-preview: the preview tool with display size and environment, one action per call', async () => {
      vendor.reply(openai.action({ type: 'type', text: 'abc' }), openai.answer('ok'));
      t = await startApp(env({ CUA_MODEL_NAME: 'openai/computer-use-preview' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'type abc' });
      expect(await fakeScreenText(r)).toBe('abc');
      expect(vendor.received[0].body.tools).toEqual([{ type: 'computer_use_preview', display_width: 640, display_height: 400, environment: 'linux' }]);
      expect(vendor.received[0].body.truncation).toBe('auto');
    });

    const check = { id: 'sc_1', code: 'malicious_instructions', message: 'The screen holds instructions that look injected.' };

    it('pending safety checks stop the task before acting unless AGENT_ACK_SAFETY_CHECKS=true', async () => {
      vendor.reply(openai.actions([{ type: 'type', text: 'rm -rf' }], [check]));
      t = await startApp(env());
      const r = await call(await t.connect(), 'run_cua_task', { task: 'risky' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/\[SAFETY_CHECK\] The model raised safety checks before acting \(malicious_instructions: The screen holds/);
      expect(textOf(r)).toMatch(/AGENT_ACK_SAFETY_CHECKS=true/);
      expect(computerLog()).toEqual([]);
      expect(vendor.received).toHaveLength(1);
    });

    it('with AGENT_ACK_SAFETY_CHECKS=true the checks are acknowledged in the next computer_call_output', async () => {
      vendor.reply(openai.actions([{ type: 'type', text: 'acked' }], [check]), openai.answer('done'));
      t = await startApp(env({ AGENT_ACK_SAFETY_CHECKS: 'true' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'risky' });
      expect(r.isError).toBeFalsy();
      expect(computerLog()).toEqual(['type acked']);
      expect(vendor.received[1].body.input[0].acknowledged_safety_checks).toEqual([check]);
    });

    it('a 500 is retried, a 400 is not: the vendor message comes back', async () => {
      vendor.reply(openai.error(500, 'upstream hiccup'), openai.error(400, 'Invalid value for tools[0].type'));
      t = await startApp(env({ AGENT_RETRY_BASE_MS: '10' }));
      const r = await call(await t.connect(), 'run_cua_task', { task: 'x' });
      expect(textOf(r)).toMatch(/\[MODEL_ERROR\] The model openai\/gpt-5.4 failed after 2 attempts: 400 invalid_request_error: Invalid value for tools\[0\].type/);
      expect(vendor.received).toHaveLength(2);
    });
  });

  describe('openai-compatible', () => {
    it('chat completions with a `computer` function of our action set; tool results and screenshots go back; old screenshots are trimmed', async () => {
      vendor.reply(
        chat.calls([{ action: 'left_click', coordinate: [5, 5] }, { action: 'type', text: 'local' }], 'Clicking, then typing.'),
        chat.calls([{ action: 'key', text: 'Return' }]),
        chat.answer('Finished locally.'),
      );
      t = await startApp({ CUA_MODEL_NAME: 'openai-compatible/qwen2.5-vl', OPENAI_COMPATIBLE_BASE_URL: `${vendor.url}/v1`, CUA_MAX_IMAGES: '1' });
      const r = await call(await t.connect(), 'run_cua_task', { task: 'type locally' });
      expect(r.structuredContent).toMatchObject({ answer: 'Finished locally.', usage: { input_tokens: 150, output_tokens: 30 } });
      expect(await fakeScreenText(r)).toBe('local\n');
      const [first, , third] = vendor.received;
      expect(first.path).toBe('/v1/chat/completions');
      expect(first.body.tools[0]).toMatchObject({ type: 'function', function: { name: 'computer', parameters: { required: ['action'] } } });
      expect(first.body.tools[0].function.parameters.properties.action.enum).toEqual(expect.arrayContaining(['left_click', 'type', 'key', 'scroll']));
      expect(third.body.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool', 'user', 'assistant', 'tool', 'user']);
      expect(third.body.messages[3]).toMatchObject({ role: 'tool', content: 'left_click at (5, 5)' });
      expect(images(third.body)).toHaveLength(1);
      expect(texts(third.body, CHAT_OMITTED)).toHaveLength(2);
    });

    it('without OPENAI_COMPATIBLE_BASE_URL the boot stops and says what to set', async () => {
      await expect(startApp({ CUA_MODEL_NAME: 'openai-compatible/llava' })).rejects.toThrow(/set OPENAI_COMPATIBLE_BASE_URL/);
    });
  });

  describe('trajectories', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'traj-'));
    });
    afterEach(async () => rm(dir, { recursive: true, force: true }));

    it('each task writes steps.jsonl, task.json and screenshots, readable as MCP resources of its own session only', async () => {
      t = await startApp({ TRAJECTORY_DIR: dir, SCRIPTED_MODEL_STEPS: '3' });
      const client = await t.connect();
      const r = await call(client, 'run_cua_task', { task: 'record me', session_id: 'rec:1' });
      const uri = (r.structuredContent as { trajectory: string }).trajectory;
      expect(uri).toMatch(/^trajectory:\/\/rec%3A1\/\d{8}-\d{6}-[0-9a-f]{6}$/);
      expect(textOf(r)).toContain(`Trajectory: ${uri}`);
      const taskId = uri.split('/').pop()!;

      // On disk: one folder per task.
      const [principal] = await readdir(dir);
      const [session] = await readdir(join(dir, principal));
      const folder = join(dir, principal, session, taskId);
      expect((await readdir(folder)).sort()).toEqual(['final.png', 'step-001.png', 'step-002.png', 'step-003.png', 'steps.jsonl', 'task.json']);
      const lines = (await readFile(join(folder, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.step)).toEqual([1, 2, 3]);
      expect(lines[1]).toMatchObject({ screenshot: 'step-002.png', actions: [{ action: 'type', text: 'record me' }], results: [{ status: 'ok', text: 'typed "record me"' }] });
      expect(typeof lines[0].model_ms).toBe('number');
      expect(JSON.parse(await readFile(join(folder, 'task.json'), 'utf8'))).toMatchObject({ status: 'done', answer: 'Done: record me', steps: 3, session_id: 'rec:1' });

      // As MCP resources.
      const listed = await client.listResources();
      // (Beside the live view's MCP Apps page, which every principal is offered.)
      expect(listed.resources.filter((r) => r.uri.startsWith('trajectory://'))).toEqual([expect.objectContaining({ uri, mimeType: 'application/json' })]);
      const read = await client.readResource({ uri });
      const doc = JSON.parse((read.contents[0] as { text: string }).text);
      expect(doc).toMatchObject({ task: 'record me', status: 'done', steps: [{ step: 1 }, { step: 2 }, { step: 3 }] });
      expect(doc.files).toContain(`${uri}/step-001.png`);
      const png = await client.readResource({ uri: `${uri}/step-001.png` });
      expect(png.contents[0]).toMatchObject({ mimeType: 'image/png' });
      expect(pngSize((png.contents[0] as { blob: string }).blob)).toEqual({ width: 640, height: 400 });
      const jsonl = await client.readResource({ uri: `${uri}/steps.jsonl` });
      expect((jsonl.contents[0] as { text: string }).text.trim().split('\n')).toHaveLength(3);

      // Nothing outside: other sessions, bad ids and path tricks are "not found".
      for (const bad of [`trajectory://other/${taskId}`, `trajectory://rec%3A1/../../etc`, `trajectory://rec%3A1/${taskId}/..%2Ftask.json`, `trajectory://..%2F..%2F/${taskId}`, `trajectory://rec%3A1/${taskId}/secret.txt`]) {
        await expect(client.readResource({ uri: bad })).rejects.toThrow(/not found/);
      }
    });

    it('an image an action returned (a zoom) is stored beside the step, named in its result, and readable as a resource', async () => {
      vendor.reply(anthropic.toolset([{ name: 'zoom', input: { region: [0, 0, 320, 200] } }]), anthropic.answer('seen'));
      t = await startApp({ TRAJECTORY_DIR: dir, CUA_MODEL_NAME: 'anthropic/claude-sonnet-5-5', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: vendor.url });
      const client = await t.connect();
      const r = await call(client, 'run_cua_task', { task: 'zoom in' });
      const uri = (r.structuredContent as { trajectory: string }).trajectory;
      const [principal] = await readdir(dir);
      const [session] = await readdir(join(dir, principal));
      const folder = join(dir, principal, session, uri.split('/').pop()!);
      expect(await readdir(folder)).toContain('step-001-action-1.png');
      const [line] = (await readFile(join(folder, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(line.results).toEqual([{ status: 'ok', text: expect.stringMatching(/^zoomed into/), image: 'step-001-action-1.png' }]);
      const png = await client.readResource({ uri: `${uri}/step-001-action-1.png` });
      expect(pngSize((png.contents[0] as { blob: string }).blob)).toEqual({ width: 1280, height: 800 });
    });
  });
});
