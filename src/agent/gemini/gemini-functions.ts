/**
 * Gemini's predefined computer-use functions, as its computer-use tool declares them to the model (Google's
 * computer use documentation and its reference implementation, google-gemini/computer-use-preview, December
 * 2026). The first set is what gemini-2.5-computer-use-preview-10-2025, gemini-3-flash-preview and
 * gemini-3.1-pro-preview call; the second is the streamlined set of gemini-3.5-flash and later models, whose
 * arguments also carry an `intent`. Both use a 1000 x 1000 grid over the screenshot for coordinates.
 */
export const GEMINI_BROWSER_ERA_FUNCTIONS = [
  'open_web_browser', 'click_at', 'hover_at', 'type_text_at', 'key_combination', 'scroll_document', 'scroll_at',
  'drag_and_drop', 'wait_5_seconds', 'go_back', 'go_forward', 'search', 'navigate',
] as const;
export const GEMINI_STREAMLINED_FUNCTIONS = [
  'click', 'double_click', 'triple_click', 'middle_click', 'right_click', 'mouse_down', 'mouse_up', 'move', 'type',
  'drag_and_drop', 'wait', 'press_key', 'key_down', 'key_up', 'hotkey', 'take_screenshot', 'scroll', 'go_back',
  'go_forward', 'navigate',
] as const;
export const GEMINI_PREDEFINED_FUNCTIONS: readonly string[] = [...new Set<string>([...GEMINI_BROWSER_ERA_FUNCTIONS, ...GEMINI_STREAMLINED_FUNCTIONS])];
