import { COMPUTER_ACTIONS } from '../../../../computer/computer.module';

/** The `computer` function offered to OpenAI-compatible chat models: this server's action set as a JSON schema. */
export const COMPUTER_FUNCTION = {
  name: 'computer',
  description:
    'Use the mouse and keyboard of the desktop shown in the screenshots. One action per call; several calls in one turn run in order. ' +
    'Coordinates are [x, y] in screenshot pixels, from the top-left corner.',
  parameters: {
    type: 'object',
    properties: {
      action: {
        type: 'string',
        // zoom is left out: open models are not trained on it, and a smaller action space suits them better.
        enum: COMPUTER_ACTIONS.filter((a) => a !== 'zoom'),
        description:
          'screenshot; left_click, right_click, middle_click, double_click, triple_click (coordinate); mouse_move (coordinate); ' +
          'left_click_drag (start_coordinate to coordinate); left_mouse_down, left_mouse_up; scroll (coordinate, scroll_direction, scroll_amount); ' +
          'type (text); key (text, e.g. "Return", "ctrl+s"; repeat); hold_key (text, duration); wait (duration); cursor_position',
      },
      coordinate: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2, description: '[x, y] in screenshot pixels' },
      start_coordinate: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2, description: 'left_click_drag: where to press' },
      text: { type: 'string', description: 'type: the text; key / hold_key: the key chord; clicks and scroll: modifier keys to hold' },
      scroll_direction: { type: 'string', enum: ['up', 'down', 'left', 'right'] },
      scroll_amount: { type: 'integer', minimum: 1, maximum: 100, description: 'mouse-wheel clicks' },
      duration: { type: 'number', minimum: 0, maximum: 100, description: 'seconds, for wait and hold_key' },
      repeat: { type: 'integer', minimum: 1, maximum: 100, description: 'key: how many presses' },
    },
    required: ['action'],
    additionalProperties: false,
  },
} as const;
