/**
 * The cua computer-server protocol (see /work/shared/reference/cua-computer-server-protocol.md),
 * shared by our client (the `cua` computer provider) and our server (`computer-server` mode).
 * Plain types, the command table and the framing helpers; no I/O here.
 *
 * Conventions settled here (where the public protocol leaves room):
 * - Coordinates are screen pixels of the desktop; `scroll(x, y)` amounts are wheel clicks,
 *   positive `y` scrolls down and positive `x` scrolls right (as the OpenAI `scroll` action).
 * - `duration` (drag) and `timeout` (run_command) are seconds.
 * - `read_bytes`/`write_bytes` carry base64; `read_bytes(offset, length)` counts bytes.
 * - Key names are pyautogui-style ("enter", "ctrl", "cmd", "pagedown", "f5", "a"); a server
 *   that does not know a key answers `success: false` naming it.
 */

export const CUA_PROTOCOL_VERSION = 1;
/** Largest message either side sends or accepts (one WS frame, one /cmd body). */
export const CUA_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
export const CUA_DEFAULT_PORT = 8000;

export const CUA_PATHS = { status: '/status', ws: '/ws', cmd: '/cmd', commands: '/commands' } as const;
export const CUA_HEADERS = { apiKey: 'x-api-key', containerName: 'x-container-name' } as const;

export type CuaOsType = 'linux' | 'macos' | 'windows';
/** `GET /status`. */
export interface CuaStatus {
  status: 'ok';
  os_type: CuaOsType;
  features?: string[];
}

export type CuaParams = Record<string, unknown>;
/** A request frame: `{"command": "...", "params": {...}}` (params may be omitted). */
export interface CuaRequest {
  command: string;
  params?: CuaParams;
}
export type CuaSuccess<T extends object = object> = { success: true } & T;
export interface CuaFailure {
  success: false;
  error: string;
}
export type CuaReply<T extends object = object> = CuaSuccess<T> | CuaFailure;
/** HTTP error bodies (`/cmd` 400/401, FastAPI style). */
export interface CuaHttpError {
  detail: string;
}

// --- Authentication ---------------------------------------------------------------------------

export const CUA_AUTH_COMMAND = 'authenticate';
export interface CuaAuthParams {
  api_key?: string;
  container_name?: string;
}
/** The exact texts of the authentication replies (WS `message`/`error`, HTTP 401 `detail`). */
export const CUA_AUTH_MESSAGES = {
  ok: 'Authentication successful',
  firstMessage: 'First message must be authentication',
  keyRequired: 'API key required',
  containerRequired: 'Container name required',
  failed: 'Authentication failed',
} as const;

// --- Commands ---------------------------------------------------------------------------------

export type CuaMouseButton = 'left' | 'right' | 'middle';
export type CuaScrollDirection = 'up' | 'down' | 'left' | 'right';
export type CuaImageFormat = 'png' | 'jpeg';
type XY = { x?: number; y?: number };

/** Each command: its parameters and the extra fields of its success reply. */
export interface CuaCommandMap {
  version: { params: object; result: { protocol: number; package: string } };
  screenshot: { params: { format?: CuaImageFormat; quality?: number }; result: { image_data: string } };
  get_screen_size: { params: object; result: { size: { width: number; height: number } } };
  get_cursor_position: { params: object; result: { position: { x: number; y: number } } };
  left_click: { params: XY; result: object };
  right_click: { params: XY; result: object };
  double_click: { params: XY; result: object };
  move_cursor: { params: { x: number; y: number }; result: object };
  mouse_down: { params: XY & { button?: CuaMouseButton }; result: object };
  mouse_up: { params: XY & { button?: CuaMouseButton }; result: object };
  drag_to: { params: { x: number; y: number; button?: CuaMouseButton; duration?: number }; result: object };
  drag: {
    params: { path?: [number, number][]; button?: CuaMouseButton; duration?: number; start_x?: number; start_y?: number; end_x?: number; end_y?: number };
    result: object;
  };
  scroll: { params: { x: number; y: number }; result: object };
  scroll_down: { params: { clicks?: number }; result: object };
  scroll_up: { params: { clicks?: number }; result: object };
  scroll_direction: { params: { direction: CuaScrollDirection; clicks?: number }; result: object };
  type_text: { params: { text: string }; result: object };
  press_key: { params: { key: string }; result: object };
  hotkey: { params: { keys: string[] }; result: object };
  key_down: { params: { key: string }; result: object };
  key_up: { params: { key: string }; result: object };
  run_command: { params: { command: string; timeout?: number | null }; result: { stdout: string; stderr: string; return_code: number } };
  launch: { params: { app: string; args?: string[] }; result: { pid?: number } };
  copy_to_clipboard: { params: object; result: { content: string } };
  set_clipboard: { params: { text: string }; result: object };
  file_exists: { params: { path: string }; result: { exists: boolean } };
  directory_exists: { params: { path: string }; result: { exists: boolean } };
  list_dir: { params: { path: string }; result: { files: string[] } };
  read_text: { params: { path: string }; result: { content: string } };
  write_text: { params: { path: string; content: string }; result: object };
  read_bytes: { params: { path: string; offset?: number; length?: number | null }; result: { content_b64: string } };
  write_bytes: { params: { path: string; content_b64: string; append?: boolean }; result: object };
  get_file_size: { params: { path: string }; result: { size: number } };
  delete_file: { params: { path: string }; result: object };
  create_dir: { params: { path: string }; result: object };
  delete_dir: { params: { path: string }; result: object };
}
export type CuaCommandName = keyof CuaCommandMap;
export type CuaParamsOf<C extends CuaCommandName> = CuaCommandMap[C]['params'];
export type CuaResultOf<C extends CuaCommandName> = CuaSuccess<CuaCommandMap[C]['result']>;

/** How a parameter is checked: the server validates every request against this table. */
export type CuaParamType = 'integer' | 'number' | 'string' | 'boolean' | 'button' | 'direction' | 'image_format' | 'point_list' | 'string_list';
export interface CuaParamSpec {
  name: string;
  type: CuaParamType;
  required?: boolean;
  /** `null` may be sent and means "no value" (e.g. run_command's timeout). */
  nullable?: boolean;
  default?: unknown;
  description: string;
}
export interface CuaCommandSpec {
  name: CuaCommandName;
  /** Feature group, listed in `/status` `features`. */
  group: 'meta' | 'screen' | 'mouse' | 'keyboard' | 'scroll' | 'shell' | 'apps' | 'clipboard' | 'files';
  description: string;
  params: readonly CuaParamSpec[];
}

const p = (name: string, type: CuaParamType, description: string, extra: Partial<CuaParamSpec> = {}): CuaParamSpec => ({ name, type, description, ...extra });
const X = p('x', 'number', 'screen x in pixels; omitted: at the cursor');
const Y = p('y', 'number', 'screen y in pixels; omitted: at the cursor');
const XR = p('x', 'number', 'screen x in pixels', { required: true });
const YR = p('y', 'number', 'screen y in pixels', { required: true });
const BUTTON = p('button', 'button', 'left, right or middle', { default: 'left' });
const DURATION = p('duration', 'number', 'seconds the move takes', { default: 0.5 });
const PATH = p('path', 'string', 'a path; ~ is the desktop user\'s home', { required: true });
const KEY = p('key', 'string', 'a key name such as "enter", "ctrl", "f5" or "a"', { required: true });
const CLICKS = p('clicks', 'integer', 'wheel clicks', { default: 1 });

/** Every command of protocol version 1 that our server offers, in introspection order. */
export const CUA_COMMANDS: readonly CuaCommandSpec[] = [
  { name: 'version', group: 'meta', description: 'Protocol version and server package version.', params: [] },
  {
    name: 'screenshot', group: 'screen', description: 'The whole screen as base64 image_data.',
    params: [p('format', 'image_format', 'png or jpeg', { default: 'png' }), p('quality', 'integer', 'JPEG quality 1-100', { default: 95 })],
  },
  { name: 'get_screen_size', group: 'screen', description: 'Screen size in pixels.', params: [] },
  { name: 'get_cursor_position', group: 'mouse', description: 'Where the pointer is.', params: [] },
  { name: 'left_click', group: 'mouse', description: 'Left click at (x, y) or at the cursor.', params: [X, Y] },
  { name: 'right_click', group: 'mouse', description: 'Right click at (x, y) or at the cursor.', params: [X, Y] },
  { name: 'double_click', group: 'mouse', description: 'Double click at (x, y) or at the cursor.', params: [X, Y] },
  { name: 'move_cursor', group: 'mouse', description: 'Move the pointer.', params: [XR, YR] },
  { name: 'mouse_down', group: 'mouse', description: 'Press a button (after moving to (x, y) if given).', params: [X, Y, BUTTON] },
  { name: 'mouse_up', group: 'mouse', description: 'Release a button (after moving to (x, y) if given).', params: [X, Y, BUTTON] },
  { name: 'drag_to', group: 'mouse', description: 'Drag from the cursor to (x, y).', params: [XR, YR, BUTTON, DURATION] },
  {
    name: 'drag', group: 'mouse', description: 'Drag along path [[x, y], ...] (or the older start_x, start_y, end_x, end_y).',
    params: [
      p('path', 'point_list', 'points [[x, y], ...], at least two'), BUTTON, DURATION,
      p('start_x', 'number', 'older form: start x'), p('start_y', 'number', 'older form: start y'),
      p('end_x', 'number', 'older form: end x'), p('end_y', 'number', 'older form: end y'),
    ],
  },
  {
    name: 'scroll', group: 'scroll', description: 'Scroll at the cursor by wheel clicks: positive y down, positive x right.',
    params: [p('x', 'number', 'horizontal wheel clicks (positive: right)', { required: true }), p('y', 'number', 'vertical wheel clicks (positive: down)', { required: true })],
  },
  { name: 'scroll_down', group: 'scroll', description: 'Scroll down at the cursor.', params: [CLICKS] },
  { name: 'scroll_up', group: 'scroll', description: 'Scroll up at the cursor.', params: [CLICKS] },
  {
    name: 'scroll_direction', group: 'scroll', description: 'Scroll in a direction at the cursor.',
    params: [p('direction', 'direction', 'up, down, left or right', { required: true }), CLICKS],
  },
  { name: 'type_text', group: 'keyboard', description: 'Type text (any Unicode).', params: [p('text', 'string', 'the text', { required: true })] },
  { name: 'press_key', group: 'keyboard', description: 'Press and release one key.', params: [KEY] },
  { name: 'hotkey', group: 'keyboard', description: 'Press keys together, release in reverse order.', params: [p('keys', 'string_list', 'key names, e.g. ["ctrl", "c"]', { required: true })] },
  { name: 'key_down', group: 'keyboard', description: 'Press and hold a key.', params: [KEY] },
  { name: 'key_up', group: 'keyboard', description: 'Release a held key.', params: [KEY] },
  {
    name: 'run_command', group: 'shell', description: 'Run a shell command as the desktop user, inside the desktop\'s sandbox.',
    params: [p('command', 'string', 'a /bin/sh command line', { required: true }), p('timeout', 'number', 'seconds; null: the server\'s limit', { nullable: true, default: null })],
  },
  {
    name: 'launch', group: 'apps', description: 'Start an application in the background (it keeps running after the reply), as the desktop user.',
    params: [p('app', 'string', 'the program, e.g. "xterm"', { required: true }), p('args', 'string_list', 'its arguments', { default: [] })],
  },
  { name: 'copy_to_clipboard', group: 'clipboard', description: 'The desktop clipboard\'s text.', params: [] },
  { name: 'set_clipboard', group: 'clipboard', description: 'Put text on the desktop clipboard.', params: [p('text', 'string', 'the text', { required: true })] },
  { name: 'file_exists', group: 'files', description: 'Whether a file exists.', params: [PATH] },
  { name: 'directory_exists', group: 'files', description: 'Whether a folder exists.', params: [PATH] },
  { name: 'list_dir', group: 'files', description: 'Names in a folder.', params: [PATH] },
  { name: 'read_text', group: 'files', description: 'A UTF-8 file\'s text.', params: [PATH] },
  { name: 'write_text', group: 'files', description: 'Write a UTF-8 file (replacing it).', params: [PATH, p('content', 'string', 'the text', { required: true })] },
  {
    name: 'read_bytes', group: 'files', description: 'A file\'s bytes as base64.',
    params: [PATH, p('offset', 'integer', 'first byte', { default: 0 }), p('length', 'integer', 'bytes to read; null: to the end', { nullable: true, default: null })],
  },
  {
    name: 'write_bytes', group: 'files', description: 'Write base64 bytes to a file.',
    params: [PATH, p('content_b64', 'string', 'base64 bytes', { required: true }), p('append', 'boolean', 'append instead of replace', { default: false })],
  },
  { name: 'get_file_size', group: 'files', description: 'A file\'s size in bytes.', params: [PATH] },
  { name: 'delete_file', group: 'files', description: 'Delete a file.', params: [PATH] },
  { name: 'create_dir', group: 'files', description: 'Create a folder and its parents (mkdir -p).', params: [PATH] },
  { name: 'delete_dir', group: 'files', description: 'Delete an empty folder.', params: [PATH] },
];

/** Other names newer servers accept for a command. */
export const CUA_COMMAND_ALIASES: Readonly<Record<string, CuaCommandName>> = {
  type: 'type_text',
  key: 'press_key',
  click: 'left_click',
  tap: 'left_click',
  shell: 'run_command',
  exec: 'run_command',
  read_file: 'read_text',
  write_file: 'write_text',
  ls: 'list_dir',
  mkdir: 'create_dir',
  rm: 'delete_file',
  rmdir: 'delete_dir',
};

/**
 * Commands other cua servers have that ours does not offer (accessibility, windows and apps).
 * A server of ours answers them `success: false` with "... is not supported by this server".
 */
export const CUA_UNSUPPORTED_COMMANDS: readonly string[] = [
  'get_accessibility_tree', 'find_element', 'get_active_window_bounds', 'get_desktop_environment', 'open', 'get_current_window_id',
  'get_application_windows', 'get_window_name', 'get_window_size', 'get_window_position', 'set_window_size',
  'set_window_position', 'maximize_window', 'minimize_window', 'activate_window', 'close_window',
];

const BY_NAME = new Map<string, CuaCommandSpec>(CUA_COMMANDS.map((c) => [c.name, c]));

/** The command a name (or alias) stands for, or undefined. */
export function resolveCuaCommand(name: string): CuaCommandSpec | undefined {
  return BY_NAME.get(name) ?? (Object.hasOwn(CUA_COMMAND_ALIASES, name) ? BY_NAME.get(CUA_COMMAND_ALIASES[name]) : undefined);
}

/** `GET /commands`: every command with its parameters and aliases. */
export interface CuaCommandInfo {
  name: CuaCommandName;
  description: string;
  params: CuaParamSpec[];
  aliases: string[];
}
export interface CuaCommandsListing {
  protocol: number;
  commands: CuaCommandInfo[];
}
export function cuaCommandsListing(offered: readonly CuaCommandSpec[] = CUA_COMMANDS): CuaCommandsListing {
  return {
    protocol: CUA_PROTOCOL_VERSION,
    commands: offered.map((c) => ({
      name: c.name,
      description: c.description,
      params: c.params.map((x) => ({ ...x })),
      aliases: Object.entries(CUA_COMMAND_ALIASES).filter(([, to]) => to === c.name).map(([a]) => a),
    })),
  };
}

/** The feature groups of the given commands (for `/status`). */
export function cuaFeatures(offered: readonly CuaCommandSpec[] = CUA_COMMANDS): string[] {
  return [...new Set(offered.map((c) => c.group))];
}

// --- Framing ----------------------------------------------------------------------------------

/** A request frame that could not be used, with the reply text each channel gives. */
export type CuaFrameProblem =
  | { kind: 'invalid_json'; error: string }
  | { kind: 'missing_command'; error: string };
export type CuaParsedFrame = { ok: true; request: { command: string; params: CuaParams } } | { ok: false; problem: CuaFrameProblem };

/**
 * Parses one request frame (a WS text message or a /cmd body). Params that are absent or null
 * become `{}`; a frame that is not a JSON object, or has params that are not an object, is
 * invalid JSON for our purposes; no string `command` is a missing command.
 */
export function parseCuaRequest(text: string): CuaParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: { kind: 'invalid_json', error: `Invalid JSON: ${e instanceof Error ? e.message : String(e)}` } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: { kind: 'invalid_json', error: 'Invalid JSON: a request must be an object {"command": "...", "params": {...}}' } };
  }
  const { command, params } = value as { command?: unknown; params?: unknown };
  if (typeof command !== 'string' || command === '') return { ok: false, problem: { kind: 'missing_command', error: 'Command is required' } };
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) {
    return { ok: false, problem: { kind: 'invalid_json', error: 'Invalid JSON: params must be an object' } };
  }
  return { ok: true, request: { command, params: (params ?? {}) as CuaParams } };
}

/** A /cmd reply body: exactly one line `data: {json}` and a blank line. */
export function encodeCmdReply(reply: object): string {
  return `data: ${JSON.stringify(reply)}\n\n`;
}

export class CuaFramingError extends Error {
  override readonly name = 'CuaFramingError';
}

/** Reads a /cmd reply body (`data: {json}` lines); returns the JSON of the first data line. */
export function decodeCmdReply(body: string): unknown {
  for (const line of body.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const json = line.slice(5).trimStart();
    try {
      return JSON.parse(json);
    } catch (e) {
      throw new CuaFramingError(`The /cmd reply's data line is not JSON (${e instanceof Error ? e.message : String(e)}): ${json.slice(0, 200)}`);
    }
  }
  throw new CuaFramingError(`The /cmd reply has no "data: " line: ${body.slice(0, 200)}`);
}
