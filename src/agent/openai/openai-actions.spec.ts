import { fromOpenAIAction } from './openai-actions';
import { openAIToolFormFor } from './openai-model.provider';

describe(fromOpenAIAction.name, () => {
  it.each([
    [{ type: 'click', button: 'left', x: 1, y: 2 }, { action: 'left_click', coordinate: [1, 2] }],
    [{ type: 'click', button: 'right', x: 1, y: 2, keys: ['SHIFT'] }, { action: 'right_click', coordinate: [1, 2], text: 'SHIFT' }],
    [{ type: 'click', button: 'wheel', x: 1, y: 2 }, { action: 'middle_click', coordinate: [1, 2] }],
    [{ type: 'click', button: 'back', x: 1, y: 2 }, { action: 'key', text: 'alt+Left' }],
    [{ type: 'double_click', x: 3, y: 4, keys: null }, { action: 'double_click', coordinate: [3, 4] }],
    [{ type: 'drag', path: [{ x: 1, y: 1 }, { x: 5, y: 5 }, { x: 9, y: 8 }] }, { action: 'left_click_drag', start_coordinate: [1, 1], coordinate: [9, 8] }],
    [{ type: 'keypress', keys: ['CTRL', 'C'] }, { action: 'key', text: 'CTRL+c' }],
    [{ type: 'keypress', keys: ['ENTER'] }, { action: 'key', text: 'ENTER' }],
    [{ type: 'move', x: 7, y: 8 }, { action: 'mouse_move', coordinate: [7, 8] }],
    [{ type: 'screenshot' }, { action: 'screenshot' }],
    [{ type: 'scroll', x: 10, y: 20, scroll_x: 0, scroll_y: 300 }, { action: 'scroll', coordinate: [10, 20], scroll_direction: 'down', scroll_amount: 3 }],
    [{ type: 'scroll', x: 10, y: 20, scroll_x: -40, scroll_y: 0 }, { action: 'scroll', coordinate: [10, 20], scroll_direction: 'left', scroll_amount: 1 }],
    [{ type: 'type', text: 'hi' }, { action: 'type', text: 'hi' }],
    [{ type: 'wait' }, { action: 'wait', duration: 1 }],
  ])('%j → %j', (from, to) => {
    expect(fromOpenAIAction(from)).toEqual(to);
  });
});

describe(openAIToolFormFor.name, () => {
  it('computer-use-preview gets the preview tool, other models the GA computer tool; the setting overrides', () => {
    expect(openAIToolFormFor('computer-use-preview-2025-03-11', 'auto')).toBe('computer_use_preview');
    expect(openAIToolFormFor('gpt-5.4', 'auto')).toBe('computer');
    expect(openAIToolFormFor('gpt-5.4', 'computer_use_preview')).toBe('computer_use_preview');
  });
});
