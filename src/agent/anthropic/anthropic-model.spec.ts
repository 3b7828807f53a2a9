import Anthropic from '@anthropic-ai/sdk';
import { FakeComputer, ScreenshotService } from '../../computer/computer.module';
import { Settings } from '../../config/config.module';
import { COMPUTER_SETTINGS } from '../../computer/computer.settings';
import { anthropic, VendorServer } from '../../../test/support/vendor-server';
import { ModelCallError, ModelInput, StepRecord } from '../model.port';
import { AnthropicModel } from './anthropic-model.provider';
import { toolFormFor } from './computer-tool-forms';

describe('Anthropic computer-use forms', () => {
  it.each([
    ['claude-sonnet-5-5', 'computer_toolset_20260801'],
    ['claude-opus-5', 'computer_toolset_20260801'],
    ['claude-opus-4-8', 'computer_toolset_20260801'],
    ['claude-fable-5-1', 'computer_toolset_20260801'],
    ['claude-some-future-model', 'computer_toolset_20260801'],
    ['claude-opus-4-7', 'computer_20251124'],
    ['claude-sonnet-4-6', 'computer_20251124'],
    ['claude-opus-4-5-20251101', 'computer_20251124'],
    ['claude-sonnet-4-5-20250929', 'computer_20250124'],
    ['claude-haiku-4-5', 'computer_20250124'],
    ['claude-opus-4-20250514', 'computer_20250124'],
  ])('%s gets %s', (model, form) => {
    expect(toolFormFor(model, 'auto')).toBe(form);
  });

  it('ANTHROPIC_COMPUTER_TOOL overrides the table', () => {
    expect(toolFormFor('claude-sonnet-5-5', 'computer_20251124')).toBe('computer_20251124');
  });
});

describe(AnthropicModel.name, () => {
  let vendor: VendorServer;
  beforeEach(async () => {
    vendor = await VendorServer.start();
  });
  afterEach(async () => vendor.close());

  async function input(step = 1, history: StepRecord[] = []): Promise<ModelInput> {
    const shot = await new ScreenshotService(Settings.load({}).get(COMPUTER_SETTINGS)).take(new FakeComputer('a', { width: 320, height: 200 }));
    return { task: 'do it', step, screenshot: shot, history, screens: [shot, ...history.map(() => shot)].slice(0, step) };
  }
  const client = () => new Anthropic({ apiKey: 'sk-ant-secret-123456789', baseURL: vendor.url, maxRetries: 0 });

  it('computer_20251124: the beta flag, the versioned tool with the screenshot size, and input.action read back', async () => {
    vendor.reply(anthropic.computer([{ action: 'scroll', coordinate: [10, 20], scroll_direction: 'down', scroll_amount: 5 }], 'Scrolling.'));
    const sut = new AnthropicModel('anthropic/claude-opus-4-6', client(), 'claude-opus-4-6', 'computer_20251124', []);
    const turn = await sut.next(await input(), new AbortController().signal);
    expect(turn).toMatchObject({ thought: 'Scrolling.', actions: [{ action: 'scroll', coordinate: [10, 20], scroll_direction: 'down', scroll_amount: 5 }], usage: { inputTokens: 100, outputTokens: 20 } });
    expect(turn.done).toBeUndefined();
    const req = vendor.received[0];
    expect(req.headers['anthropic-beta']).toBe('computer-use-2025-11-24');
    expect(req.body.tools).toEqual([{ type: 'computer_20251124', name: 'computer', display_width_px: 320, display_height_px: 200, enable_zoom: true }]);
    expect(req.body.system).toMatch(/320x200 pixels/);
  });

  it('toolset: a member call becomes the action of that name; a reply without tool use is the answer', async () => {
    vendor.reply(anthropic.toolset([{ name: 'key', input: { text: 'ctrl+s', repeat: 2 } }, { name: 'cursor_position' }]), anthropic.answer('All saved.'));
    const sut = new AnthropicModel('anthropic/claude-opus-5', client(), 'claude-opus-5', 'computer_toolset_20260801', []);
    const first = await sut.next(await input(), new AbortController().signal);
    expect(first.actions).toEqual([{ action: 'key', text: 'ctrl+s', repeat: 2 }, { action: 'cursor_position' }]);
    const record: StepRecord = {
      step: 1,
      actions: first.actions,
      results: [],
      outcomes: [{ status: 'ok', text: 'pressed ctrl+s 2 times' }, { status: 'ok', text: 'cursor at (7, 9)', coordinate: [7, 9] }],
      state: first.state,
    };
    const second = await sut.next(await input(2, [record]), new AbortController().signal);
    expect(second.done).toEqual({ answer: 'All saved.' });
    const results = vendor.received[1].body.messages[2].content;
    expect(results[0]).toMatchObject({ type: 'tool_result', toolset_name: 'computer', content: [{ type: 'text', text: 'Pressed ctrl+s.' }] });
    expect(results[1]).toMatchObject({ type: 'tool_result', toolset_name: 'computer', content: [{ type: 'text', text: 'X=7,Y=9' }] });
  });

  it('errors: a 529 is retryable with the server retry-after; a 400 is fatal with the vendor message and no key', async () => {
    vendor.reply(
      anthropic.error(529, 'overloaded_error', 'Overloaded', { 'retry-after': '3' }),
      anthropic.error(400, 'invalid_request_error', 'messages.0: bad key sk-ant-secret-123456789'),
    );
    const sut = new AnthropicModel('anthropic/claude-opus-5', client(), 'claude-opus-5', 'computer_toolset_20260801', ['sk-ant-secret-123456789']);
    const busy = await sut.next(await input(), new AbortController().signal).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ModelCallError);
    expect(busy).toMatchObject({ retryable: true, status: 529, retryAfterMs: 3000, message: '529 overloaded_error: Overloaded' });
    const bad = await sut.next(await input(), new AbortController().signal).catch((e: unknown) => e);
    expect(bad).toMatchObject({ retryable: false, status: 400, message: '400 invalid_request_error: messages.0: bad key [redacted]' });
  });
});
