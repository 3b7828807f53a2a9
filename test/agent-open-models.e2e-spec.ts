import { FakeComputerProvider } from '../src/computer/computer.module';
import { call, fakeScreenText, startApp, TestApp, textOf } from './support/app';
import { chat, hang, Json, pngSize, VendorServer } from './support/vendor-server';
import { waitFor } from './support/wait-for';

/**
 * The open model families (OPENAI_COMPATIBLE_MODEL_FAMILY) through the real app, the `openai` SDK and a local
 * chat-completions server that answers in each family's own language, on fake computers (640x400 unless said).
 */

/** Every image part of a request, in order. */
function imagesOf(body: Json): { width: number; height: number }[] {
  const found: { width: number; height: number }[] = [];
  for (const m of body.messages as Json[]) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content as Json[]) if (p.type === 'image_url') found.push(pngSize(String(p.image_url.url).replace(/^data:image\/png;base64,/, '')));
  }
  return found;
}

/** All the text a request carries, in order (system, user and assistant). */
function textOfRequest(body: Json): string {
  return (body.messages as Json[])
    .map((m) => (typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? (m.content as Json[]).filter((p) => p.type === 'text').map((p) => p.text).join('\n') : ''))
    .join('\n---\n');
}

interface Family {
  name: string;
  model: string;
  /** The image the 640x400 screen is sent as. */
  image: { width: number; height: number };
  factor: number;
  /** A click at the screen's centre (320, 200), in the family's own coordinates. */
  clickCentre: string;
  /** Typing "hello world" and pressing Enter. */
  typeAndEnter: string;
  /** Finishing with the answer "Typed hello world.". */
  finish: string;
  /** An answer the family's reader cannot use, and the error the model then reads. */
  malformed: [answer: string, error: RegExp];
  /** A click far off the image. */
  offImage: [answer: string, error: RegExp];
  /** Giving up, and the reason the caller reads. */
  giveUp: [answer: string, reason: RegExp];
  /** Where the model reads the error of its last step in the next request. */
  feedback: (body: Json) => string;
}

const lastUserText = (body: Json) => {
  const user = (body.messages as Json[]).filter((m) => m.role === 'user').at(-1);
  return typeof user.content === 'string' ? user.content : (user.content as Json[]).filter((p) => p.type === 'text').map((p) => p.text).join('\n');
};
const allUserText = (body: Json) =>
  (body.messages as Json[])
    .filter((m) => m.role === 'user')
    .map((m) => (typeof m.content === 'string' ? m.content : (m.content as Json[]).filter((p) => p.type === 'text').map((p) => p.text).join('\n')))
    .join('\n');

const qwenCall = (args: Record<string, unknown>, thought = 'I act.') =>
  `Thought: ${thought}\nAction: ${thought}\n<tool_call>\n${JSON.stringify({ name: 'computer_use', arguments: args })}\n</tool_call>`;
const openCua = (thought: string, action: string, code: string) => `## Thought:\n${thought}\n\n## Action:\n${action}\n\n## Code:\n\`\`\`python\n${code}\n\`\`\`\n`;

const FAMILIES: Family[] = [
  {
    name: 'uitars',
    model: 'ByteDance-Seed/UI-TARS-1.5-7B',
    image: { width: 644, height: 392 },
    factor: 28,
    // (322, 196) of the 644x392 image is (320, 200) of the screen.
    clickCentre: "Thought: The terminal fills the screen; I click in its middle to focus it.\nAction: click(point='<point>322 196</point>')",
    typeAndEnter: "Thought: Now I type the greeting and submit it.\nAction: type(content='hello world\\n')",
    finish: "Thought: The greeting is on the screen.\nAction: finished(content='Typed hello world.')",
    malformed: ['Thought: I will click the OK button now.', /The answer has no "Action:" line/],
    offImage: ["Thought: Click the far corner.\nAction: click(point='<point>900 100</point>')", /The point \(900, 100\) is off the screenshot: x must be 0\.\.643 and y 0\.\.391/],
    giveUp: ['Thought: The window asks for a password I was not given.\nAction: call_user()', /\[AGENT_GAVE_UP\] The model stopped and asked for a person's help \(call_user\(\)\): The window asks for a password/],
    feedback: lastUserText,
  },
  {
    name: 'qwen3-vl',
    model: 'Qwen/Qwen3-VL-8B-Instruct',
    image: { width: 640, height: 384 },
    factor: 32,
    // (500, 500) of the 0-999 grid: 500 * 640 / 999 = 320.3, 500 * 400 / 999 = 200.2.
    clickCentre: qwenCall({ action: 'left_click', coordinate: [500, 500] }, 'Click the middle of the terminal to focus it.'),
    typeAndEnter:
      'Thought: Type the greeting, then press Enter.\nAction: Type and submit.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "type", "text": "hello world"}}\n</tool_call>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["Return"]}}\n</tool_call>',
    finish:
      'Thought: The greeting is shown.\nAction: Report and finish.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "answer", "text": "Typed hello world."}}\n</tool_call>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}\n</tool_call>',
    malformed: ['Thought: click it\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]\n</tool_call>', /A <tool_call> block is not valid JSON/],
    offImage: [qwenCall({ action: 'left_click', coordinate: [1200, 500] }), /The point \(1200, 500\) is off the screen: x and y go from 0 to 999/],
    giveUp: [qwenCall({ action: 'terminate', status: 'failure' }, 'The file cannot be found anywhere.'), /\[AGENT_GAVE_UP\] The model ended the task as failed \(terminate with status "failure"\): Thought: The file cannot be found/],
    feedback: lastUserText,
  },
  {
    name: 'qwen2.5-vl',
    model: 'Qwen/Qwen2.5-VL-7B-Instruct',
    image: { width: 644, height: 392 },
    factor: 28,
    clickCentre: qwenCall({ action: 'left_click', coordinate: [322, 196] }, 'Click the middle of the terminal to focus it.'),
    typeAndEnter:
      'Type and submit.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "type", "text": "hello world"}}\n</tool_call>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["Return"]}}\n</tool_call>',
    finish: qwenCall({ action: 'terminate', status: 'success' }, 'Typed hello world.'),
    malformed: [qwenCall({ action: 'triple_click', coordinate: [10, 10] }), /Unknown action "triple_click"\. The actions are: key, type/],
    offImage: [qwenCall({ action: 'left_click', coordinate: [700, 10] }), /The point \(700, 10\) is off the screenshot: x must be 0\.\.643 and y 0\.\.391/],
    giveUp: [qwenCall({ action: 'terminate', status: 'failure' }, 'No browser is installed.'), /\[AGENT_GAVE_UP\] The model ended the task as failed/],
    feedback: lastUserText,
  },
  {
    name: 'opencua',
    model: 'xlangai/OpenCUA-7B',
    image: { width: 644, height: 392 },
    factor: 28,
    clickCentre: openCua('The terminal fills the screen; clicking it focuses it.', 'Click the middle of the terminal.', 'pyautogui.click(x=322, y=196)'),
    typeAndEnter: openCua('The terminal is focused; I type the greeting and press Enter.', 'Type "hello world" and press Enter.', "pyautogui.write(message='hello world')\npyautogui.press(keys=['enter'])"),
    finish: "## Thought:\nThe greeting is on the screen.\n\n## Action:\nTyped hello world.\n\n## Code:\n```code\ncomputer.terminate(status='success')\n```\n",
    malformed: ['## Thought:\nI click the button.\n\n## Action:\nClick the button.', /The answer has no code block/],
    offImage: [openCua('t', 'Click far right.', 'pyautogui.click(x=2000, y=100)'), /The point \(2000, 100\) is off the screenshot: x must be 0\.\.643/],
    giveUp: [openCua('The document does not exist.', 'Give up.', "computer.terminate(status='failure')"), /\[AGENT_GAVE_UP\] The model ended the task as failed \(computer.terminate with status "failure"\): The document does not exist\./],
    feedback: allUserText,
  },
];

describe.each(FAMILIES)('open model family $name (OPENAI_COMPATIBLE_MODEL_FAMILY) against a local chat-completions server', (f) => {
  let t: TestApp;
  let vendor: VendorServer;
  beforeEach(async () => {
    vendor = await VendorServer.start();
  });
  afterEach(async () => {
    await t?.close();
    await vendor.close();
  });
  const env = (extra: Record<string, string> = {}) => ({
    CUA_MODEL_NAME: `openai-compatible/${f.model}`,
    OPENAI_COMPATIBLE_BASE_URL: `${vendor.url}/v1`,
    OPENAI_COMPATIBLE_MODEL_FAMILY: f.name,
    AGENT_RETRY_BASE_MS: '10',
    ...extra,
  });
  const computerLog = () => t.app.get(FakeComputerProvider).created.flatMap((c) => c.log).filter((l) => !['capture', 'screenSize'].includes(l));

  it('a multi-step task in the family\'s own language runs to the end: click, type, finish; the screen shows the text', async () => {
    vendor.reply(chat.answer(f.clickCentre), chat.answer(f.typeAndEnter), chat.answer(f.finish));
    t = await startApp(env());
    const r = await call(await t.connect(), 'run_cua_task', { task: 'type hello world in the terminal' });
    expect(textOf(r)).toMatch(/Answer: Typed hello world\./);
    expect(r.isError).toBeFalsy();
    expect(computerLog()).toEqual(['click left x1 320,200', 'type hello world', 'key Return']);
    expect(await fakeScreenText(r)).toBe('hello world\n');
    expect(r.structuredContent).toMatchObject({ model: `openai-compatible/${f.model}`, steps: [{ step: 1 }, { step: 2 }, { step: 3 }] });

    expect(vendor.received).toHaveLength(3);
    const [first, second, third] = vendor.received;
    expect(first.path).toBe('/v1/chat/completions');
    expect(first.body.model).toBe(f.model);
    // No function calling asked of the server: the family's own grammar is in the text.
    expect(first.body.tools).toBeUndefined();
    expect(textOfRequest(first.body)).toContain('type hello world in the terminal');
    // The screen is sent exactly as the family's processor would size it, so it keeps it as sent.
    expect(imagesOf(first.body)).toEqual([f.image]);
    expect(f.image.width % f.factor).toBe(0);
    expect(f.image.height % f.factor).toBe(0);
    // Each later request carries the model's own earlier answers, as it wrote them.
    const assistants = (body: Json) => (body.messages as Json[]).filter((m) => m.role === 'assistant').map((m) => m.content as string);
    expect(assistants(second.body).join('\n')).toContain(f.name === 'opencua' ? 'Click the middle of the terminal.' : f.clickCentre.split('\n')[0]);
    expect(assistants(third.body)).toHaveLength(2);
    expect(imagesOf(third.body).every((i) => i.width === f.image.width && i.height === f.image.height)).toBe(true);
  });

  it('an unreadable answer and a point off the image are step errors the model reads; nothing touches the computer; it recovers', async () => {
    vendor.reply(chat.answer(f.malformed[0]), chat.answer(f.offImage[0]), chat.answer(f.finish));
    t = await startApp(env());
    const r = await call(await t.connect(), 'run_cua_task', { task: 'recover from mistakes' });
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toMatch(/Answer: Typed hello world\./);
    expect(computerLog()).toEqual([]);
    const steps = (r.structuredContent as { steps: { results: string[] }[] }).steps;
    expect(steps[0].results).toEqual([expect.stringMatching(f.malformed[1])]);
    expect(steps[1].results).toEqual([expect.stringMatching(f.offImage[1])]);
    expect(f.feedback(vendor.received[1].body)).toMatch(f.malformed[1]);
    expect(f.feedback(vendor.received[2].body)).toMatch(f.offImage[1]);
  });

  it('a model that gives up ends the task with AGENT_GAVE_UP and its reason, before acting', async () => {
    vendor.reply(chat.answer(f.clickCentre), chat.answer(f.giveUp[0]));
    t = await startApp(env());
    const r = await call(await t.connect(), 'run_cua_task', { task: 'log in' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(f.giveUp[1]);
    expect(textOf(r)).toMatch(/Steps done before it stopped:\n {2}1\. left_click at \(320, 200\)/);
    expect(computerLog()).toEqual(['click left x1 320,200']);
    expect(vendor.received).toHaveLength(2);
  });

  it('images respect the family\'s limits and OPENAI_COMPATIBLE_IMAGE_MAX_PIXELS; points still land where meant on a larger screen', async () => {
    // The screen's centre, (640, 400) of 1280x800, in the family's coordinates on the image it will be sent.
    const limit = 100_000;
    const sent = f.factor === 32 ? { width: 384, height: 256 } : { width: 392, height: 252 };
    const centre = f.name === 'qwen3-vl' ? f.clickCentre : f.clickCentre.replace(/\b(322|196)\b/g, (n) => String(n === '322' ? sent.width / 2 : sent.height / 2));
    vendor.reply(chat.answer(centre), chat.answer(f.finish));
    t = await startApp(env({ SCREEN_WIDTH: '1280', SCREEN_HEIGHT: '800', OPENAI_COMPATIBLE_IMAGE_MAX_PIXELS: String(limit) }));
    const r = await call(await t.connect(), 'run_cua_task', { task: 'click the centre' });
    expect(r.isError).toBeFalsy();
    for (const req of vendor.received) {
      for (const img of imagesOf(req.body)) {
        expect(img).toEqual(sent);
        expect(img.width * img.height).toBeLessThanOrEqual(limit);
        expect(img.width % f.factor).toBe(0);
        expect(img.height % f.factor).toBe(0);
      }
    }
    expect(computerLog()).toEqual(['click left x1 640,400']);
    // The Qwen2.5-VL tool tells the model the size of the image it sees.
    if (f.name === 'qwen2.5-vl') expect(textOfRequest(vendor.received[0].body)).toContain(`The screen's resolution is ${sent.width}x${sent.height}.`);
    if (f.name === 'qwen3-vl') expect(textOfRequest(vendor.received[0].body)).toContain("The screen's resolution is 1000x1000.");
  });

  it('cancelling during a model call aborts the request, and no later action touches the computer', async () => {
    vendor.reply(chat.answer(f.clickCentre), hang, chat.answer(f.typeAndEnter));
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
    expect(computerLog()).toEqual(['click left x1 320,200']);
    expect(vendor.received).toHaveLength(2);
  });
});

describe('OPENAI_COMPATIBLE_MODEL_FAMILY', () => {
  it('a name no family has stops the boot, listing the registered families', async () => {
    await expect(startApp({ OPENAI_COMPATIBLE_MODEL_FAMILY: 'uitars2' })).rejects.toThrow(
      'OPENAI_COMPATIBLE_MODEL_FAMILY=uitars2 names no model family. Registered: generic, opencua, qwen2.5-vl, qwen3-vl, uitars.',
    );
  });
});
