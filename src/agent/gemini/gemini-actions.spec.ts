import { ApiError } from '@google/genai';
import { ModelCallError } from '../model.port';
import { describeGeminiCall, planGeminiCall, SEARCH_HOME } from './gemini-actions';
import { GEMINI_PREDEFINED_FUNCTIONS } from './gemini-functions';
import { geminiCallError, geminiEnvironmentFor } from './gemini-model.provider';

/** A screenshot of 1440x900 (Gemini's recommended size): grid unit 100 is pixel 144 across, 90 down. */
const SHOT = { width: 1440, height: 900 };
const plan = (name: string, args: Record<string, unknown> = {}, excluded: string[] = []) => planGeminiCall({ name, args }, SHOT, excluded);

describe(planGeminiCall.name, () => {
  it.each([
    // The browser-era set (gemini-2.5-computer-use-preview and the 3 / 3.1 previews).
    ['click_at', { x: 500, y: 500 }, [{ action: 'left_click', coordinate: [720, 450] }]],
    ['hover_at', { x: 100, y: 100 }, [{ action: 'mouse_move', coordinate: [144, 90] }]],
    [
      'type_text_at',
      { x: 100, y: 200, text: 'hello' },
      [
        { action: 'left_click', coordinate: [144, 180] },
        { action: 'key', text: 'ctrl+a' },
        { action: 'key', text: 'BackSpace' },
        { action: 'type', text: 'hello' },
        { action: 'key', text: 'Return' },
      ],
    ],
    ['type_text_at', { x: 100, y: 200, text: 'hi', press_enter: false, clear_before_typing: false }, [{ action: 'left_click', coordinate: [144, 180] }, { action: 'type', text: 'hi' }]],
    ['type_text_at', { x: 0, y: 0, text: '', press_enter: false }, [{ action: 'left_click', coordinate: [0, 0] }, { action: 'key', text: 'ctrl+a' }, { action: 'key', text: 'BackSpace' }]],
    ['key_combination', { keys: 'Control+A' }, [{ action: 'key', text: 'Control+a' }]],
    ['key_combination', { keys: 'Enter' }, [{ action: 'key', text: 'Enter' }]],
    ['key_combination', { keys: 'Control++' }, [{ action: 'key', text: 'Control++' }]],
    ['scroll_document', { direction: 'down' }, [{ action: 'scroll', coordinate: [720, 450], scroll_direction: 'down', scroll_amount: 10 }]],
    ['scroll_at', { x: 250, y: 750, direction: 'up' }, [{ action: 'scroll', coordinate: [360, 675], scroll_direction: 'up', scroll_amount: 8 }]],
    ['scroll_at', { x: 250, y: 750, direction: 'left', magnitude: 20 }, [{ action: 'scroll', coordinate: [360, 675], scroll_direction: 'left', scroll_amount: 1 }]],
    ['drag_and_drop', { x: 100, y: 100, destination_x: 900, destination_y: 800 }, [{ action: 'left_click_drag', start_coordinate: [144, 90], coordinate: [1296, 720] }]],
    ['wait_5_seconds', {}, [{ action: 'wait', duration: 5 }]],
    ['go_back', {}, [{ action: 'key', text: 'alt+Left' }]],
    ['go_forward', {}, [{ action: 'key', text: 'alt+Right' }]],
    ['navigate', { url: 'example.com/a?b=c' }, [{ action: 'key', text: 'ctrl+l' }, { action: 'type', text: 'example.com/a?b=c' }, { action: 'key', text: 'Return' }]],
    ['search', {}, [{ action: 'key', text: 'ctrl+l' }, { action: 'type', text: SEARCH_HOME }, { action: 'key', text: 'Return' }]],
    // The streamlined set (gemini-3.5-flash on): the intent is not an argument of ours.
    ['click', { x: 999, y: 999, intent: 'Open the menu' }, [{ action: 'left_click', coordinate: [1439, 899] }]],
    ['double_click', { x: 0, y: 0 }, [{ action: 'double_click', coordinate: [0, 0] }]],
    ['triple_click', { x: 10, y: 10 }, [{ action: 'triple_click', coordinate: [14, 9] }]],
    ['middle_click', { x: 10, y: 10 }, [{ action: 'middle_click', coordinate: [14, 9] }]],
    ['right_click', { x: 10, y: 10 }, [{ action: 'right_click', coordinate: [14, 9] }]],
    ['mouse_down', { x: 10, y: 10 }, [{ action: 'left_mouse_down', coordinate: [14, 9] }]],
    ['mouse_up', {}, [{ action: 'left_mouse_up' }]],
    ['move', { x: 500, y: 0 }, [{ action: 'mouse_move', coordinate: [720, 0] }]],
    ['type', { text: 'abc' }, [{ action: 'type', text: 'abc' }]],
    ['type', { text: 'abc', press_enter: true }, [{ action: 'type', text: 'abc' }, { action: 'key', text: 'Return' }]],
    ['press_key', { key: 'PageDown' }, [{ action: 'key', text: 'PageDown' }]],
    ['hotkey', { keys: ['Control', 'Shift', 'T'] }, [{ action: 'key', text: 'Control+Shift+t' }]],
    ['hotkey', { keys: ['ControlOrMeta', 'c'] }, [{ action: 'key', text: 'ctrl+c' }]],
    ['wait', { seconds: 2 }, [{ action: 'wait', duration: 2 }]],
    ['wait', {}, [{ action: 'wait', duration: 1 }]],
    ['take_screenshot', {}, [{ action: 'screenshot' }]],
    ['scroll', { x: 500, y: 500, direction: 'down', magnitude: 1000 }, [{ action: 'scroll', coordinate: [720, 450], scroll_direction: 'down', scroll_amount: 10 }]],
  ])('%s %j', (name, args, actions) => {
    expect(plan(name, args)).toEqual({ actions });
  });

  it('maps the grid onto the screenshot the model saw, whatever its size: 1000 is taken as the far edge', () => {
    expect(planGeminiCall({ name: 'click_at', args: { x: 500, y: 250 } }, { width: 640, height: 400 })).toEqual({ actions: [{ action: 'left_click', coordinate: [320, 100] }] });
    expect(planGeminiCall({ name: 'click_at', args: { x: 1000, y: 1000 } }, { width: 640, height: 400 })).toEqual({ actions: [{ action: 'left_click', coordinate: [639, 399] }] });
  });

  it.each([
    ['click_at', { x: 1200, y: 10 }, /click_at: x=1200 is off the screen\. Coordinates run from 0 to 999/],
    ['click_at', { x: -1, y: 10 }, /x=-1 is off the screen/],
    ['click_at', { x: 10 }, /click_at needs y: a number on the 0-999 grid/],
    ['click', { x: '10', y: 10 }, /click needs x: a number on the 0-999 grid/],
    ['drag_and_drop', { x: 1, y: 1, destination_x: 5000, destination_y: 1 }, /destination_x=5000 is off the screen/],
    ['type_text_at', { x: 1, y: 1 }, /type_text_at needs text/],
    ['type_text_at', { x: 1, y: 1, text: 'a', press_enter: 'yes' }, /press_enter must be true or false/],
    ['type', { text: '' }, /type needs text/],
    ['scroll_document', { direction: 'sideways' }, /scroll_document needs direction: up, down, left or right/],
    ['scroll_at', { x: 1, y: 1, direction: 'up', magnitude: -5 }, /magnitude must be a positive number/],
    ['key_combination', {}, /key_combination needs keys/],
    ['hotkey', { keys: ['Control', ''] }, /hotkey needs keys/],
    ['wait', { seconds: 1000 }, /seconds must be a number from 0 to 100/],
    ['navigate', {}, /navigate needs url/],
    ['navigate', { url: 'example.com\nrm -rf ~' }, /url must be one line/],
    ['open_web_browser', {}, /open_web_browser cannot be done here: this is a whole Linux desktop.*"Browser" launcher/],
    ['key_down', { key: 'Shift' }, /key_down is not available here.*hotkey/],
    ['fly_to_moon', {}, /Unknown function "fly_to_moon"\. This server runs Gemini's predefined computer-use functions: open_web_browser, click_at/],
  ])('%s %j is refused with a message the model can act on', (name, args, message) => {
    const out = plan(name, args);
    expect(out).toEqual({ error: expect.stringMatching(message) });
  });

  it('refuses a function GEMINI_EXCLUDED_ACTIONS switched off, even when its arguments are good', () => {
    expect(plan('navigate', { url: 'example.com' }, ['navigate', 'search'])).toEqual({ error: expect.stringMatching(/navigate is switched off on this server \(GEMINI_EXCLUDED_ACTIONS\)/) });
    expect(plan('click_at', { x: 1, y: 1 }, ['navigate'])).toEqual({ actions: [{ action: 'left_click', coordinate: [1, 1] }] });
  });

  it('knows both function sets, each name once', () => {
    expect(GEMINI_PREDEFINED_FUNCTIONS).toEqual(expect.arrayContaining(['click_at', 'type_text_at', 'wait_5_seconds', 'click', 'hotkey', 'take_screenshot']));
    expect(new Set(GEMINI_PREDEFINED_FUNCTIONS).size).toBe(GEMINI_PREDEFINED_FUNCTIONS.length);
  });

  it('describes a call for people without its safety decision', () => {
    expect(describeGeminiCall({ name: 'click_at', args: { x: 1, y: 2, safety_decision: { decision: 'require_confirmation', explanation: 'x' } } })).toBe('click_at {"x":1,"y":2}');
  });
});

describe(geminiEnvironmentFor.name, () => {
  it('the browser for the models of the browser-era set, the desktop for later ones; the setting overrides', () => {
    expect(geminiEnvironmentFor('gemini-2.5-computer-use-preview-10-2025', 'auto')).toBe('browser');
    expect(geminiEnvironmentFor('gemini-3-flash-preview', 'auto')).toBe('browser');
    expect(geminiEnvironmentFor('gemini-3.1-pro-preview', 'auto')).toBe('browser');
    expect(geminiEnvironmentFor('gemini-3.5-flash', 'auto')).toBe('desktop');
    expect(geminiEnvironmentFor('gemini-4-pro', 'auto')).toBe('desktop');
    expect(geminiEnvironmentFor('gemini-3.5-flash', 'browser')).toBe('browser');
    expect(geminiEnvironmentFor('gemini-2.5-computer-use-preview-10-2025', 'desktop')).toBe('desktop');
  });
});

describe(geminiCallError.name, () => {
  const live = new AbortController().signal;
  const apiError = (status: number, body: unknown) => new ApiError({ status, message: JSON.stringify(body) });

  it('a 429 is retryable after the RetryInfo delay, with the status and the vendor words', () => {
    const e = geminiCallError(
      apiError(429, { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }] } }),
      live,
      [],
    );
    expect(e).toBeInstanceOf(ModelCallError);
    expect(e).toMatchObject({ retryable: true, status: 429, retryAfterMs: 1500, message: '429 RESOURCE_EXHAUSTED: Quota exceeded' });
  });

  it('a 400 is final; a 503 and an unreachable server are retried; the key never shows', () => {
    const key = 'AIzaSyD-0123456789abcdefghijklmnopqrstu';
    const bad = geminiCallError(apiError(400, { error: { code: 400, status: 'INVALID_ARGUMENT', message: `API key not valid: ${key}` } }), live, [key]);
    expect(bad).toMatchObject({ retryable: false, status: 400 });
    expect(bad.message).toMatch(/^400 INVALID_ARGUMENT: API key not valid: \[redacted\]$/);
    expect(geminiCallError(apiError(503, { error: { code: 503, message: 'overloaded' } }), live, [])).toMatchObject({ retryable: true, status: 503 });
    expect(geminiCallError(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') }), live, [])).toMatchObject({
      retryable: true,
      message: 'could not reach the model server: fetch failed: connect ECONNREFUSED 127.0.0.1:9',
    });
  });

  it('an abort of the SDK timeout is a retryable timeout; one of the task signal passes through for the loop', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(geminiCallError(abort, live, [])).toMatchObject({ retryable: true, message: expect.stringMatching(/AGENT_MODEL_TIMEOUT_MS/) });
    const cancelled = new AbortController();
    cancelled.abort();
    expect(geminiCallError(abort, cancelled.signal, [])).toBe(abort);
  });
});
