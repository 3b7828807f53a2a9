import './support/undici-dispatcher';
import { NOT_EXECUTED } from '../src/agent/agent.module';
import { OMITTED } from '../src/agent/gemini/gemini-model.provider';
import { FakeComputerProvider } from '../src/computer/computer.module';
import { call, fakeScreenText, startApp, TestApp, textOf } from './support/app';
import { gemini, hang, Json, pngSize, VendorServer } from './support/vendor-server';
import { waitFor } from './support/wait-for';

/*
 * Gemini computer use through Google's own SDK (@google/genai) against a local server that speaks the Gemini
 * API's generateContent wire format, with scripted answers in Gemini's own function calls; fake computers.
 */

const KEY = 'AIzaSyTest-0123456789abcdefSECRETkey';
const LEGACY = 'gemini-2.5-computer-use-preview-10-2025';

/** Every inline image of a request, in order. */
function inlineImages(body: Json): { mimeType: string; data: string }[] {
  const out: { mimeType: string; data: string }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      if (o.inlineData) out.push(o.inlineData);
      Object.values(o).forEach(walk);
    }
  };
  walk(body.contents);
  return out;
}
/** The function responses of a request's last user turn. */
const responsesOf = (body: Json): Json[] => body.contents.at(-1).parts.filter((p: Json) => p.functionResponse).map((p: Json) => p.functionResponse);
/** What the screen of a fake computer shows, from a base64 PNG. */
const screenText = (data: string) => fakeScreenText({ content: [{ type: 'image', data, mimeType: 'image/png' }] });

describe('The agent with Gemini computer use (@google/genai against a local Gemini API, fake computers)', () => {
  let t: TestApp | undefined;
  let vendor: VendorServer;
  beforeEach(async () => {
    vendor = await VendorServer.start();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await vendor.close();
  });
  const env = (extra: Record<string, string> = {}) => ({
    CUA_MODEL_NAME: `gemini/${LEGACY}`,
    GEMINI_API_KEY: KEY,
    GEMINI_BASE_URL: vendor.url,
    AGENT_RETRY_BASE_MS: '10',
    ...extra,
  });
  const computerLog = () => t!.app.get(FakeComputerProvider).created.flatMap((c) => c.log).filter((l) => !['capture', 'screenSize'].includes(l));

  it('a task of several steps runs to the answer: grid coordinates land on screen pixels, each call is answered with the screen after it', async () => {
    const first = gemini.calls([{ name: 'click_at', args: { x: 500, y: 500 } }], 'I will click the middle of the screen.', { thought: 'The screen is empty.', signature: 'c2lnbmF0dXJlLTE=', tokens: [300, 30] });
    const second = gemini.calls([{ name: 'type_text_at', args: { x: 250, y: 750, text: 'hello gemini', press_enter: true, clear_before_typing: false } }]);
    vendor.reply(first, second, gemini.answer('Typed "hello gemini".'));
    t = await startApp(env());
    const r = await call(await t.connect(), 'run_cua_task', { task: 'type hello gemini' });
    expect(r.isError).toBeFalsy();
    // What the user sees: the text on the screen, the answer, the steps and the tokens.
    expect(await fakeScreenText(r)).toBe('hello gemini\n');
    expect(computerLog()).toEqual(['click left x1 320,200', 'click left x1 160,300', 'type hello gemini', 'key Return']);
    expect(r.structuredContent).toMatchObject({
      answer: 'Typed "hello gemini".',
      model: `gemini/${LEGACY}`,
      usage: { input_tokens: 500, output_tokens: 70 },
      steps: [
        { step: 1, thought: 'The screen is empty.\nI will click the middle of the screen.', actions: [{ action: 'left_click', coordinate: [320, 200] }] },
        { step: 2, actions: [{ action: 'left_click', coordinate: [160, 300] }, { action: 'type', text: 'hello gemini' }, { action: 'key', text: 'Return' }] },
        { step: 3 },
      ],
    });

    // On the wire: Gemini's generateContent, the key in its header, the computer-use tool in the browser
    // environment (this model knows no other), the task and the screen first.
    const [one, two, three] = vendor.received;
    expect(one.method).toBe('POST');
    expect(one.path).toBe(`/v1beta/models/${LEGACY}:generateContent`);
    expect(one.headers['x-goog-api-key']).toBe(KEY);
    expect(one.body.tools).toEqual([{ computerUse: { environment: 'ENVIRONMENT_BROWSER' } }]);
    expect(one.body.generationConfig).toMatchObject({ thinkingConfig: { includeThoughts: true } });
    expect(one.body.contents).toEqual([{ role: 'user', parts: [{ text: 'type hello gemini' }, { inlineData: { mimeType: 'image/png', data: expect.any(String) } }] }]);
    // The model's turn goes back as it came (thought signature included), then one function response per call
    // with what was done and the screen after it.
    expect(two.body.contents[1]).toEqual((first.body as Json).candidates[0].content);
    expect(responsesOf(two.body)).toEqual([{ name: 'click_at', response: { output: 'left_click at (320, 200)' }, parts: [{ inlineData: { mimeType: 'image/png', data: expect.any(String) } }] }]);
    const [typed] = responsesOf(three.body);
    expect(typed).toMatchObject({ name: 'type_text_at', response: { output: 'left_click at (160, 300); typed "hello gemini"; pressed Return' } });
    expect(await screenText(typed.parts[0].inlineData.data)).toBe('hello gemini\n');
    expect(three.body.contents.map((c: Json) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user']);
  });

  it('the streamlined functions of later models: the desktop environment, several calls a turn with ids and intents, a screenshot in mid-turn, excluded functions', async () => {
    const turn = gemini.calls([
      { name: 'type', args: { text: 'ab', intent: 'Type the first half' }, id: 'call-1' },
      { name: 'take_screenshot', args: { intent: 'Check it' }, id: 'call-2' },
      { name: 'hotkey', args: { keys: ['Control', 'C'] }, id: 'call-3' },
      { name: 'type', args: { text: 'cd', press_enter: true }, id: 'call-4' },
    ]);
    vendor.reply(turn, gemini.answer('done'));
    t = await startApp(env({ CUA_MODEL_NAME: 'gemini/gemini-3.5-flash', GEMINI_EXCLUDED_ACTIONS: 'navigate, go_back,navigate' }));
    const r = await call(await t.connect(), 'run_cua_task', { task: 'type twice' });
    expect(r.isError).toBeFalsy();
    expect(await fakeScreenText(r)).toBe('abcd\n');
    expect(computerLog()).toEqual(['type ab', 'key Control_L+c', 'type cd', 'key Return']);
    expect(r.structuredContent).toMatchObject({ steps: [{ thought: 'Type the first half\nCheck it' }, { step: 2 }] });
    const [one, two] = vendor.received;
    expect(one.path).toBe('/v1beta/models/gemini-3.5-flash:generateContent');
    expect(one.body.tools).toEqual([{ computerUse: { environment: 'ENVIRONMENT_DESKTOP', excludedPredefinedFunctions: ['navigate', 'go_back'] } }]);
    const responses = responsesOf(two.body);
    expect(responses.map((f) => [f.id, f.name, f.response])).toEqual([
      ['call-1', 'type', { output: 'typed "ab"' }],
      ['call-2', 'take_screenshot', { output: expect.stringMatching(/^screenshot/) }],
      ['call-3', 'hotkey', { output: 'pressed Control+c' }],
      ['call-4', 'type', { output: 'typed "cd"; pressed Return' }],
    ]);
    // The mid-turn screenshot shows the screen at that moment; the last response, the screen after the turn.
    expect(await screenText(responses[1].parts[0].inlineData.data)).toBe('ab');
    expect(responses[0].parts).toBeUndefined();
    expect(await screenText(responses[3].parts[0].inlineData.data)).toBe('abcd\n');
  });

  it('malformed answers become step errors the model reads, and the task goes on to the end', async () => {
    vendor.reply(
      // Off the grid: refused, nothing done.
      gemini.calls([{ name: 'click_at', args: { x: 1200, y: 10 } }]),
      // An unknown function: refused, and the call after it is not run.
      gemini.calls([{ name: 'fly_to_moon', args: {} }, { name: 'click_at', args: { x: 10, y: 10 } }]),
      // A missing argument.
      gemini.calls([{ name: 'type_text_at', args: { x: 10, y: 10 } }]),
      // A function call Gemini itself could not form.
      gemini.stop('MALFORMED_FUNCTION_CALL'),
      gemini.calls([{ name: 'click_at', args: { x: 100, y: 100 } }]),
      gemini.answer('finally clicked'),
    );
    t = await startApp(env());
    const r = await call(await t.connect(), 'run_cua_task', { task: 'click somewhere' });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ answer: 'finally clicked' });
    expect(computerLog()).toEqual(['click left x1 64,40']);
    const q = vendor.received;
    expect(q).toHaveLength(6);
    expect(responsesOf(q[1].body)).toEqual([{ name: 'click_at', response: { error: expect.stringMatching(/^click_at: x=1200 is off the screen\. Coordinates run from 0 to 999/) }, parts: [expect.anything()] }]);
    expect(responsesOf(q[2].body).map((f) => f.response)).toEqual([{ error: expect.stringMatching(/^Unknown function "fly_to_moon"\. This server runs Gemini's predefined computer-use functions: /) }, { error: NOT_EXECUTED }]);
    expect(responsesOf(q[3].body)[0].response).toEqual({ error: 'type_text_at needs text: the text to type.' });
    // After the malformed turn: no model turn to answer, a note with the screen instead.
    const afterMalformed = q[4].body.contents.at(-1).parts;
    expect(afterMalformed.at(-2)).toEqual({ text: expect.stringMatching(/^Note: your last reply could not be used \(MALFORMED_FUNCTION_CALL\)\. Call one of the computer-use functions/) });
    expect(afterMalformed.at(-1)).toEqual({ inlineData: expect.objectContaining({ mimeType: 'image/png' }) });
    expect(q[4].body.contents.map((c: Json) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user', 'model', 'user']);
  });

  it('a text-only answer ends the task; a refusal or a blocked prompt ends it with MODEL_ERROR, without retries', async () => {
    vendor.reply(gemini.answer('I cannot find a login form on this screen.'), gemini.stop('SAFETY'), gemini.blocked('PROHIBITED_CONTENT'));
    t = await startApp(env());
    const client = await t.connect();
    const answered = await call(client, 'run_cua_task', { task: 'log in' });
    expect(answered.structuredContent).toMatchObject({ answer: 'I cannot find a login form on this screen.', steps: [{ step: 1, actions: [] }] });
    const refused = await call(client, 'run_cua_task', { task: 'something bad' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/\[MODEL_ERROR\] The model gemini\/gemini-2\.5-computer-use-preview-10-2025 failed: Gemini refused to go on \(SAFETY\)\./);
    const blocked = await call(client, 'run_cua_task', { task: 'something worse' });
    expect(textOf(blocked)).toMatch(/\[MODEL_ERROR\] .*Gemini refused the request \(PROHIBITED_CONTENT\)/);
    expect(vendor.received).toHaveLength(3);
    expect(computerLog()).toEqual([]);
  });

  const confirm = (explanation: string) => ({ decision: 'require_confirmation', explanation });

  it('a safety decision that requires confirmation stops the task before acting, saying what the model wanted and which setting confirms', async () => {
    vendor.reply(gemini.calls([{ name: 'click_at', args: { x: 500, y: 900, safety_decision: confirm('The button accepts all cookies.') } }]));
    t = await startApp(env());
    const r = await call(await t.connect(), 'run_cua_task', { task: 'read the news' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(
      /\[SAFETY_CHECK\] The model asked for a person's confirmation before acting: click_at \{"x":500,"y":900\} \(The button accepts all cookies\.\)\. The task was stopped without acting; the server confirms such actions only with AGENT_ACK_SAFETY_CHECKS=true\./,
    );
    expect(computerLog()).toEqual([]);
    expect(vendor.received).toHaveLength(1);
  });

  it('with AGENT_ACK_SAFETY_CHECKS=true the action runs and its function response carries the acknowledgement', async () => {
    vendor.reply(
      gemini.calls([
        { name: 'click_at', args: { x: 500, y: 900, safety_decision: confirm('The button accepts all cookies.') } },
        { name: 'wait_5_seconds', args: {} },
      ]),
      gemini.answer('accepted'),
    );
    t = await startApp(env({ AGENT_ACK_SAFETY_CHECKS: 'true' }));
    const r = await call(await t.connect(), 'run_cua_task', { task: 'read the news' });
    expect(r.isError).toBeFalsy();
    expect(computerLog()).toEqual(['click left x1 320,360']);
    expect(responsesOf(vendor.received[1].body).map((f) => f.response)).toEqual([
      { output: 'left_click at (320, 360)', safety_acknowledgement: 'true' },
      { output: 'waited 5 s' },
    ]);
  }, 30_000);

  it('screenshots are fitted into Gemini\'s recommended 1440x900, grid points map back to the larger screen, and only CUA_MAX_IMAGES screens are sent', async () => {
    vendor.reply(
      gemini.calls([{ name: 'click_at', args: { x: 500, y: 500 } }]),
      gemini.calls([{ name: 'hover_at', args: { x: 999, y: 0 } }]),
      gemini.calls([{ name: 'click_at', args: { x: 250, y: 250 } }]),
      gemini.answer('ok'),
    );
    t = await startApp(env({ SCREEN_WIDTH: '1920', SCREEN_HEIGHT: '1200', CUA_MAX_IMAGES: '2' }));
    const r = await call(await t.connect(), 'run_cua_task', { task: 'click around' });
    expect(r.isError).toBeFalsy();
    expect(pngSize(inlineImages(vendor.received[0].body)[0].data)).toEqual({ width: 1440, height: 900 });
    // 500/1000 of 1440 = 720 screenshot pixels = 960 screen pixels at a scale of 0.75.
    expect(computerLog()).toEqual(['click left x1 960,600', 'move 1919,0', 'click left x1 480,300']);
    expect(vendor.received.map((q) => inlineImages(q.body).length)).toEqual([1, 2, 2, 2]);
    // The oldest screen of the last request is gone: the first user turn says so, and so does the oldest response.
    const last = vendor.received[3].body;
    expect(last.contents[0].parts).toEqual([{ text: 'click around' }, { text: OMITTED }]);
    expect(responsesOf({ contents: [last.contents[2]] })[0]).toEqual({ name: 'click_at', response: { output: 'left_click at (960, 600)', screenshot: OMITTED } });
  });

  it('a 429 waits for the RetryInfo delay and is retried; a 400 stops at once with Google\'s words and without the key', async () => {
    vendor.reply(gemini.error(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for this minute.', '0.3s'), gemini.answer('after the wait'), gemini.error(400, 'INVALID_ARGUMENT', `API key not valid: ${KEY}`));
    t = await startApp(env());
    const client = await t.connect();
    const r = await call(client, 'run_cua_task', { task: 'anything' });
    expect(textOf(r)).toMatch(/Answer: after the wait/);
    expect(vendor.received[1].at - vendor.received[0].at).toBeGreaterThanOrEqual(280);
    const bad = await call(client, 'run_cua_task', { task: 'anything' });
    expect(textOf(bad)).toMatch(/\[MODEL_ERROR\] The model gemini\/gemini-2\.5-computer-use-preview-10-2025 failed: 400 INVALID_ARGUMENT: API key not valid: \[redacted\]/);
    expect(textOf(bad)).not.toContain(KEY.slice(8, 20));
    expect(vendor.received).toHaveLength(3);
  });

  it('cancelling during a slow model call aborts the HTTP request, and no later action touches the computer', async () => {
    vendor.reply(gemini.calls([{ name: 'click_at', args: { x: 10, y: 10 } }]), hang, gemini.calls([{ name: 'type_text_at', args: { x: 1, y: 1, text: 'late' } }]));
    t = await startApp(env());
    const client = await t.connect();
    const ac = new AbortController();
    const running = call(client, 'run_cua_task', { task: 'to be cancelled' }, { signal: ac.signal });
    await waitFor('the second model request', () => vendor.received.length === 2);
    ac.abort();
    await expect(running).rejects.toThrow();
    await waitFor('the model request to be aborted', () => vendor.abortedByClient === 1);
    await waitFor('the task to end on the server', async () => {
      const { sessions } = (await call(client, 'get_session_stats')).structuredContent as { sessions: Record<string, { active_tasks: number }> };
      return Object.values(sessions).every((s) => s.active_tasks === 0);
    });
    expect(computerLog()).toEqual(['click left x1 6,4']);
    expect(vendor.received).toHaveLength(2);
  });

  it('the boot stops with a clear message without GEMINI_API_KEY, or with an excluded function that does not exist', async () => {
    await expect(startApp({ CUA_MODEL_NAME: 'gemini/gemini-3.5-flash' })).rejects.toThrow(/CUA_MODEL_NAME=gemini\/gemini-3\.5-flash: The model gemini\/gemini-3\.5-flash needs an API key: set GEMINI_API_KEY/);
    await expect(startApp(env({ GEMINI_EXCLUDED_ACTIONS: 'navigate,teleport' }))).rejects.toThrow(/GEMINI_EXCLUDED_ACTIONS.*names no predefined function: teleport\. Known: open_web_browser, click_at/);
  });
});

describe('Gemini grid coordinates on a real Xvfb desktop', () => {
  let t: TestApp | undefined;
  let vendor: VendorServer;
  afterEach(async () => {
    await t?.close();
    await vendor?.close();
  });

  it('a type_text_at at the grid point of a window focuses that window and types into it; the pointer rests where the grid point is', async () => {
    vendor = await VendorServer.start();
    // Larger than Gemini's 1440x900: the model sees a screenshot scaled by 0.75, so the grid goes through both mappings.
    t = await startApp({
      COMPUTER_PROVIDER: 'xvfb',
      DESKTOP_PROFILE: 'minimal',
      SCREEN_WIDTH: '1920',
      SCREEN_HEIGHT: '1200',
      CUA_MODEL_NAME: `gemini/${LEGACY}`,
      GEMINI_API_KEY: KEY,
      GEMINI_BASE_URL: vendor.url,
    });
    const client = await t.connect();
    const session_id = 'grid';
    const run = async (command: string) => ((await call(client, 'run_command', { command, session_id })).structuredContent as { stdout: string }).stdout.trim();
    // A small terminal at the bottom right, away from the profile's own terminal, that writes the first line typed into it to a file.
    const opened = await call(client, 'run_command', {
      command: `xterm -title Target -geometry 30x4+1400+850 -e sh -c 'read line; printf "%s\\n" "$line" > ~/target.txt; sleep 600'`,
      background: true,
      session_id,
    });
    expect(opened.isError).toBeFalsy();
    const geometry = await waitFor(
      'the Target window',
      async () => {
        const out = await run(`xdotool search --name '^Target$' getwindowgeometry --shell 2>/dev/null`);
        const g = Object.fromEntries(out.split('\n').map((l) => l.split('=') as [string, string]));
        return g.WIDTH ? { x: Number(g.X), y: Number(g.Y), width: Number(g.WIDTH), height: Number(g.HEIGHT) } : undefined;
      },
      10_000,
      100,
    );
    // Its middle, on Gemini's grid.
    const middle = { x: geometry.x + geometry.width / 2, y: geometry.y + geometry.height / 2 };
    const grid = { x: Math.round((middle.x / 1920) * 1000), y: Math.round((middle.y / 1200) * 1000) };
    vendor.reply(
      gemini.calls([{ name: 'type_text_at', args: { x: grid.x, y: grid.y, text: 'landed-here', press_enter: true, clear_before_typing: false } }]),
      gemini.answer('Typed it into the small terminal.'),
    );
    const r = await call(client, 'run_cua_task', { task: 'type landed-here into the small terminal', session_id });
    expect(r.isError).toBeFalsy();
    expect(pngSize(inlineImages(vendor.received[0].body)[0].data)).toEqual({ width: 1440, height: 900 });
    // The click landed in that window: it took the focus, and the typing reached its program (not the other terminal's shell).
    await waitFor('~/target.txt', async () => (await run('cat ~/target.txt 2>/dev/null')) === 'landed-here', 5000, 100);
    // And where the grid point says: one grid unit is 1.92 screen pixels here, so within 2 pixels of the middle.
    const pointer = Object.fromEntries((await run('xdotool getmouselocation --shell')).split('\n').map((l) => l.split('=') as [string, string]));
    expect(Math.abs(Number(pointer.X) - middle.x)).toBeLessThanOrEqual(2);
    expect(Math.abs(Number(pointer.Y) - middle.y)).toBeLessThanOrEqual(2);
  }, 60_000);
});
