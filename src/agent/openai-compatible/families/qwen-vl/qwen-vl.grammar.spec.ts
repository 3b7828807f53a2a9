import type { ChatCompletionMessage } from 'openai/resources/chat/completions';
import type { FamilyStep } from '../../chat-family';
import { readQwenComputerUse } from './qwen-vl.grammar';

/**
 * Qwen's answers, from the authors' repository QwenLM/Qwen3-VL:
 * - cookbooks/mobile_agent.ipynb: Qwen3-VL's recorded answer (Thought, Action, then a <tool_call> of its `mobile_use`
 *   tool, on the 0–999 grid);
 * - cookbooks/utils/agent_function_call.py: the `computer_use` tool's actions and arguments (for Qwen2.5-VL as first
 *   published, and Qwen3-VL's additions: triple_click, hscroll, answer). The computer_use answers below are written in
 *   that form and in the recorded answer's layout; no recorded desktop answer is published in the repository.
 */
const MOBILE_RECORDED = `Thought: To search for Musk in X, I need to click on the search bar at the top of the screen. This will allow me to type in the search query.
Action: "I tapped on the search bar to begin searching for Musk."
<tool_call>
{"name": "mobile_use", "arguments": {"action": "click", "coordinate": [447, 81]}}
</tool_call>`;

const answer = (content: string, tool_calls?: ChatCompletionMessage['tool_calls']): ChatCompletionMessage => ({ role: 'assistant', content, refusal: null, ...(tool_calls ? { tool_calls } : {}) });
const call = (args: Record<string, unknown>, words = 'Thought: t\nAction: a') => answer(`${words}\n<tool_call>\n${JSON.stringify({ name: 'computer_use', arguments: args })}\n</tool_call>`);

describe(readQwenComputerUse.name, () => {
  it("reads the layout of Qwen3-VL's recorded answer; its mobile tool is not this server's: a clear error, no tap", () => {
    const r = readQwenComputerUse(answer(MOBILE_RECORDED), '3', []);
    expect(r.thought).toBe('Thought: To search for Musk in X, I need to click on the search bar at the top of the screen. This will allow me to type in the search query.\nAction: "I tapped on the search bar to begin searching for Musk."');
    expect(r.actions).toEqual([]);
    expect(r.error).toBe('Unknown function "mobile_use": the only function is computer_use. Nothing was done.');
  });

  it('the same answer with the computer_use tool: a left click on the grid (points stay in the model\'s convention)', () => {
    const r = readQwenComputerUse(answer(MOBILE_RECORDED.replace('"mobile_use", "arguments": {"action": "click"', '"computer_use", "arguments": {"action": "left_click"')), '3', []);
    expect(r).toMatchObject({ actions: [{ action: 'left_click', coordinate: [447, 81] }], kept: { text: expect.stringContaining('"computer_use"') } });
    expect(r.error).toBeUndefined();
  });

  it('every computer_use action of Qwen3-VL, several calls in one answer', () => {
    const blocks = [
      { action: 'key', keys: ['ctrl', 'l'] },
      { action: 'type', text: 'qwen.ai' },
      { action: 'mouse_move', coordinate: [10, 20] },
      { action: 'left_click_drag', coordinate: [30, 40] },
      { action: 'right_click', coordinate: [1, 2] },
      { action: 'middle_click', coordinate: [3, 4] },
      { action: 'double_click', coordinate: [5, 6] },
      { action: 'triple_click', coordinate: [7, 8] },
      { action: 'scroll', pixels: -5, coordinate: [500, 500] },
      { action: 'hscroll', pixels: 3 },
      { action: 'wait', time: 2 },
      { action: 'left_click' },
    ]
      .map((a) => `<tool_call>\n${JSON.stringify({ name: 'computer_use', arguments: a })}\n</tool_call>`)
      .join('\n');
    expect(readQwenComputerUse(answer(`Thought: many\n${blocks}`), '3', []).actions).toEqual([
      { action: 'key', text: 'ctrl+l' },
      { action: 'type', text: 'qwen.ai' },
      { action: 'mouse_move', coordinate: [10, 20] },
      { action: 'left_click_drag', coordinate: [30, 40] },
      { action: 'right_click', coordinate: [1, 2] },
      { action: 'middle_click', coordinate: [3, 4] },
      { action: 'double_click', coordinate: [5, 6] },
      { action: 'triple_click', coordinate: [7, 8] },
      { action: 'scroll', scroll_direction: 'down', scroll_amount: 5, coordinate: [500, 500] },
      { action: 'scroll', scroll_direction: 'right', scroll_amount: 3 },
      { action: 'wait', duration: 2 },
      { action: 'left_click' },
    ]);
  });

  it('tool calls the server already parsed out (vLLM with a tool-call parser) read the same, and are kept as <tool_call> text', () => {
    const r = readQwenComputerUse(
      answer('Thought: click it', [{ id: 'c1', type: 'function', function: { name: 'computer_use', arguments: '{"action": "left_click", "coordinate": [100, 200]}' } }]),
      '2.5',
      [],
    );
    expect(r.actions).toEqual([{ action: 'left_click', coordinate: [100, 200] }]);
    expect((r.kept as { text: string }).text).toBe('Thought: click it\n<tool_call>\n{"name":"computer_use","arguments":{"action":"left_click","coordinate":[100,200]}}\n</tool_call>');
  });

  it('terminate success ends with the answer given (in this or an earlier step); failure gives up', () => {
    const both = answer(
      'Thought: The price is shown.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "answer", "text": "It costs 12 EUR."}}\n</tool_call>\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}\n</tool_call>',
    );
    expect(readQwenComputerUse(both, '3', [])).toMatchObject({ actions: [], done: { answer: 'It costs 12 EUR.' } });
    const earlier: FamilyStep[] = [{ kept: { text: 'x', answer: 'Forty-two.' }, outcomes: [] }];
    expect(readQwenComputerUse(call({ action: 'terminate', status: 'success' }), '3', earlier)).toMatchObject({ done: { answer: 'Forty-two.' } });
    expect(readQwenComputerUse(call({ action: 'terminate', status: 'success' }, 'Thought: All done.'), '2.5', [])).toMatchObject({ done: { answer: 'All done.' } });
    expect(readQwenComputerUse(call({ action: 'terminate', status: 'failure' }, 'Thought: No network.'), '3', [])).toMatchObject({
      actions: [],
      gaveUp: 'The model ended the task as failed (terminate with status "failure"): Thought: No network.',
    });
  });

  it('Qwen2.5-VL\'s tool has no triple_click, hscroll nor answer: naming one is an error listing its actions', () => {
    expect(readQwenComputerUse(call({ action: 'triple_click', coordinate: [1, 2] }), '2.5', []).error).toMatch(
      /Unknown action "triple_click"\. The actions are: key, type, mouse_move, left_click, left_click_drag, right_click, middle_click, double_click, scroll, wait, terminate\./,
    );
  });

  it('no tool call, broken JSON, an unknown action, a malformed point or amount: an error the model reads, and nothing runs', () => {
    const cases: [ChatCompletionMessage, RegExp][] = [
      [answer('I clicked the button.'), /holds no tool call\. Call the computer_use function/],
      [answer('<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1, 2]\n</tool_call>'), /not valid JSON/],
      [call({ action: 'teleport' }), /Unknown action "teleport"/],
      [call({ action: 'left_click', coordinate: [1] }), /coordinate must be \[x, y\] with two numbers from 0 to 999, not \[1\]/],
      [call({ action: 'left_click', coordinate: ['1', '2'] }), /coordinate must be \[x, y\]/],
      [call({ action: 'mouse_move' }), /mouse_move needs coordinate/],
      [call({ action: 'scroll', pixels: -500 }), /whole number of wheel clicks from 1 to 100/],
      [call({ action: 'scroll' }), /scroll needs pixels/],
      [call({ action: 'key', keys: [] }), /key needs keys/],
      [call({ action: 'type' }), /type needs text/],
      [call({ action: 'wait' }), /wait needs time/],
      [call({ action: 'terminate', status: 'done' }), /terminate needs status: "success" or "failure"/],
      [answer('<tool_call>\n{"name": "computer", "arguments": {"action": "left_click"}}\n</tool_call>'), /Unknown function "computer"/],
    ];
    for (const [message, why] of cases) {
      const r = readQwenComputerUse(message, '3', []);
      expect({ content: message.content, actions: r.actions, error: r.error }).toEqual({ content: message.content, actions: [], error: expect.stringMatching(why) });
    }
  });
});
