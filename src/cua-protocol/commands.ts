import { z } from 'zod';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { CUA_PROTOCOL_VERSION, CuaParams, CuaSuccess } from './wire';

/**
 * The commands of protocol version 1 that our server offers: ONE zod schema per command's
 * params. The param types (`CuaParamsOf`, `CuaValuesOf`), the server's validation
 * (`validateCuaParams`) and the `GET /commands` listing (`cuaCommandsListing`) all come from it.
 */

/** How `/commands` names a parameter's type. */
export type CuaParamType = 'integer' | 'number' | 'string' | 'boolean' | 'button' | 'direction' | 'image_format' | 'point_list' | 'string_list';

/** What a parameter's schema says of itself, beyond what zod checks. */
interface ParamInfo {
  type: CuaParamType;
  /** One line for the listing and for error messages. */
  description: string;
  /** A good value, as an error says it: "x must be <allowed>". */
  allowed: string;
}
const paramInfo = z.registry<ParamInfo>();
function param<S extends z.ZodType>(schema: S, type: CuaParamType, description: string, allowed: string): S {
  paramInfo.add(schema, { type, description, allowed });
  return schema;
}

export const CUA_MAX_TYPE_CHARS = 100_000;
export const CUA_MAX_RUN_TIMEOUT_S = 3600;
export const CUA_MAX_DRAG_S = 60;
export const CUA_MAX_CLICKS = 100;

const BUTTONS = ['left', 'right', 'middle'] as const;
const X = param(z.number().optional(), 'number', 'screen x in pixels; omitted: at the cursor', 'a number');
const Y = param(z.number().optional(), 'number', 'screen y in pixels; omitted: at the cursor', 'a number');
const XR = param(z.number(), 'number', 'screen x in pixels', 'a number');
const YR = param(z.number(), 'number', 'screen y in pixels', 'a number');
const BUTTON = param(z.enum(BUTTONS).default('left'), 'button', 'left, right or middle', '"left", "right" or "middle"');
const DURATION = param(z.number().min(0).max(CUA_MAX_DRAG_S).default(0.5), 'number', 'seconds the move takes', `a number of seconds from 0 to ${CUA_MAX_DRAG_S}`);
const PATH = param(z.string().min(1).regex(/^[^\0]*$/), 'string', "a path; ~ is the desktop user's home", 'a path (not empty, without NUL characters)');
const KEY = param(z.string().min(1), 'string', 'a key name such as "enter", "ctrl", "f5" or "a"', 'a key name');
const CLICKS = param(z.number().int().min(1).max(CUA_MAX_CLICKS).default(1), 'integer', 'wheel clicks', `a whole number from 1 to ${CUA_MAX_CLICKS}`);
const TEXT = param(z.string(), 'string', 'the text', 'a string');
const END = (name: string) => param(z.number().optional(), 'number', `older form: ${name}`, 'a number');

/** x and y, both or neither ("at the cursor"). */
const AT = z
  .object({ x: X, y: Y })
  .refine((v) => (v.x === undefined) === (v.y === undefined), 'Give both x and y, or neither (to act at the cursor).');
const AT_WITH_BUTTON = z
  .object({ x: X, y: Y, button: BUTTON })
  .refine((v) => (v.x === undefined) === (v.y === undefined), 'Give both x and y, or neither (to act at the cursor).');
const NOTHING = z.object({});
const AT_PATH = z.object({ path: PATH });

type Group = 'meta' | 'screen' | 'mouse' | 'keyboard' | 'scroll' | 'shell' | 'apps' | 'clipboard' | 'files';
interface CommandDef {
  /** Feature group, listed in `/status` `features`. */
  group: Group;
  description: string;
  params: z.ZodObject;
  /** Other names newer servers accept for it. */
  aliases?: readonly string[];
}

/** Every command, in listing order. */
const COMMANDS = {
  version: { group: 'meta', description: 'Protocol version and server package version.', params: NOTHING },
  screenshot: {
    group: 'screen',
    description: 'The whole screen as base64 image_data.',
    params: z.object({
      format: param(
        z.string().toLowerCase().pipe(z.enum(['png', 'jpeg', 'jpg'])).transform((f) => (f === 'jpg' ? 'jpeg' : f)).default('png'),
        'image_format', 'png or jpeg', '"png" or "jpeg"',
      ),
      quality: param(z.number().int().min(1).max(100).default(95), 'integer', 'JPEG quality 1-100', 'a whole number from 1 to 100'),
    }),
  },
  get_screen_size: { group: 'screen', description: 'Screen size in pixels.', params: NOTHING },
  get_cursor_position: { group: 'mouse', description: 'Where the pointer is.', params: NOTHING },
  left_click: { group: 'mouse', description: 'Left click at (x, y) or at the cursor.', params: AT, aliases: ['click', 'tap'] },
  right_click: { group: 'mouse', description: 'Right click at (x, y) or at the cursor.', params: AT },
  double_click: { group: 'mouse', description: 'Double click at (x, y) or at the cursor.', params: AT },
  // Ours: upstream servers have no triple click (their clients make one from double_click and a press).
  triple_click: { group: 'mouse', description: 'Triple click at (x, y) or at the cursor, as one action (selects a line in most programs).', params: AT },
  move_cursor: { group: 'mouse', description: 'Move the pointer.', params: z.object({ x: XR, y: YR }) },
  mouse_down: { group: 'mouse', description: 'Press a button (after moving to (x, y) if given).', params: AT_WITH_BUTTON },
  mouse_up: { group: 'mouse', description: 'Release a button (after moving to (x, y) if given).', params: AT_WITH_BUTTON },
  drag_to: { group: 'mouse', description: 'Drag from the cursor to (x, y).', params: z.object({ x: XR, y: YR, button: BUTTON, duration: DURATION }) },
  drag: {
    group: 'mouse',
    description: 'Drag along path [[x, y], ...] (or the older start_x, start_y, end_x, end_y).',
    params: z
      .object({
        path: param(z.array(z.tuple([z.number(), z.number()])).min(2).optional(), 'point_list', 'points [[x, y], ...], at least two', 'a list of [x, y] points'),
        button: BUTTON,
        duration: DURATION,
        start_x: END('start x'),
        start_y: END('start y'),
        end_x: END('end x'),
        end_y: END('end y'),
      })
      .refine(
        (v) => v.path !== undefined || [v.start_x, v.start_y, v.end_x, v.end_y].every((n) => n !== undefined),
        'drag needs path: [[x, y], ...] with at least two points (or start_x, start_y, end_x and end_y).',
      ),
  },
  scroll: {
    group: 'scroll',
    description: 'Scroll at the cursor by wheel clicks: positive y down, positive x right.',
    params: z.object({
      x: param(z.number(), 'number', 'horizontal wheel clicks (positive: right)', 'a number'),
      y: param(z.number(), 'number', 'vertical wheel clicks (positive: down)', 'a number'),
    }),
  },
  scroll_down: { group: 'scroll', description: 'Scroll down at the cursor.', params: z.object({ clicks: CLICKS }) },
  scroll_up: { group: 'scroll', description: 'Scroll up at the cursor.', params: z.object({ clicks: CLICKS }) },
  scroll_direction: {
    group: 'scroll',
    description: 'Scroll in a direction at the cursor.',
    params: z.object({
      direction: param(z.enum(['up', 'down', 'left', 'right']), 'direction', 'up, down, left or right', '"up", "down", "left" or "right"'),
      clicks: CLICKS,
    }),
  },
  type_text: {
    group: 'keyboard',
    description: 'Type text (any Unicode).',
    params: z.object({
      text: param(z.string().max(CUA_MAX_TYPE_CHARS), 'string', 'the text', `a string of at most ${CUA_MAX_TYPE_CHARS} characters (split longer text)`),
    }),
    aliases: ['type'],
  },
  press_key: { group: 'keyboard', description: 'Press and release one key.', params: z.object({ key: KEY }), aliases: ['key'] },
  hotkey: {
    group: 'keyboard',
    description: 'Press keys together, release in reverse order.',
    params: z.object({ keys: param(z.array(z.string()).min(1), 'string_list', 'key names, e.g. ["ctrl", "c"]', 'a non-empty list of strings') }),
  },
  key_down: { group: 'keyboard', description: 'Press and hold a key.', params: z.object({ key: KEY }) },
  key_up: { group: 'keyboard', description: 'Release a held key.', params: z.object({ key: KEY }) },
  run_command: {
    group: 'shell',
    description: "Run a shell command as the desktop user, inside the desktop's sandbox.",
    params: z
      .object({
        command: param(z.string(), 'string', 'a /bin/sh command line', 'a string'),
        timeout: param(
          z.number().positive().max(CUA_MAX_RUN_TIMEOUT_S).nullable().default(null),
          'number', "seconds; null: the server's limit", `a number of seconds above 0 and at most ${CUA_MAX_RUN_TIMEOUT_S}, or null`,
        ),
      })
      .refine((v) => v.command.trim() !== '', 'run_command needs a command, e.g. "ls -la".'),
    aliases: ['shell', 'exec'],
  },
  launch: {
    group: 'apps',
    description: 'Start an application in the background (it keeps running after the reply), as the desktop user.',
    params: z
      .object({
        app: param(z.string(), 'string', 'the program, e.g. "xterm"', 'a string'),
        args: param(z.array(z.string()).default([]), 'string_list', 'its arguments', 'a list of strings'),
      })
      .refine((v) => v.app.trim() !== '', 'launch needs app, e.g. "xterm".'),
  },
  copy_to_clipboard: { group: 'clipboard', description: "The desktop clipboard's text.", params: NOTHING },
  set_clipboard: { group: 'clipboard', description: 'Put text on the desktop clipboard.', params: z.object({ text: TEXT }) },
  file_exists: { group: 'files', description: 'Whether a file exists.', params: AT_PATH },
  directory_exists: { group: 'files', description: 'Whether a folder exists.', params: AT_PATH },
  list_dir: { group: 'files', description: 'Names in a folder.', params: AT_PATH, aliases: ['ls'] },
  read_text: { group: 'files', description: "A UTF-8 file's text.", params: AT_PATH, aliases: ['read_file'] },
  write_text: {
    group: 'files',
    description: 'Write a UTF-8 file (replacing it).',
    params: z.object({ path: PATH, content: TEXT }),
    aliases: ['write_file'],
  },
  read_bytes: {
    group: 'files',
    description: "A file's bytes as base64.",
    params: z.object({
      path: PATH,
      offset: param(z.number().int().min(0).default(0), 'integer', 'first byte', 'a whole number, 0 or more'),
      length: param(z.number().int().min(0).nullable().default(null), 'integer', 'bytes to read; null: to the end', 'a whole number, 0 or more, or null'),
    }),
  },
  write_bytes: {
    group: 'files',
    description: 'Write base64 bytes to a file.',
    params: z.object({
      path: PATH,
      content_b64: param(z.string().regex(/^[A-Za-z0-9+/\s]*={0,2}\s*$/), 'string', 'base64 bytes', 'base64 text'),
      append: param(z.boolean().default(false), 'boolean', 'append instead of replace', 'true or false'),
    }),
  },
  get_file_size: { group: 'files', description: "A file's size in bytes.", params: AT_PATH },
  delete_file: { group: 'files', description: 'Delete a file.', params: AT_PATH, aliases: ['rm'] },
  create_dir: { group: 'files', description: 'Create a folder and its parents (mkdir -p).', params: AT_PATH, aliases: ['mkdir'] },
  delete_dir: { group: 'files', description: 'Delete an empty folder.', params: AT_PATH, aliases: ['rmdir'] },
} as const satisfies Record<string, CommandDef>;

export type CuaCommandName = keyof typeof COMMANDS;
export type CuaCommandGroup = Group;
/** The commands of one feature group, e.g. `CuaCommandOfGroup<'files'>`. */
export type CuaCommandOfGroup<G extends Group> = { [C in CuaCommandName]: (typeof COMMANDS)[C]['group'] extends G ? C : never }[CuaCommandName];
/** What a client sends: the params of a command (defaults may be left out). */
export type CuaParamsOf<C extends CuaCommandName> = z.input<(typeof COMMANDS)[C]['params']>;
/** What a server runs with: the params after validation (defaults filled in). */
export type CuaValuesOf<C extends CuaCommandName> = z.output<(typeof COMMANDS)[C]['params']>;

/** The extra fields of each command's success reply. */
export interface CuaResults {
  version: { protocol: number; package: string };
  screenshot: { image_data: string };
  get_screen_size: { size: { width: number; height: number } };
  get_cursor_position: { position: { x: number; y: number } };
  left_click: object;
  right_click: object;
  double_click: object;
  triple_click: object;
  move_cursor: object;
  mouse_down: object;
  mouse_up: object;
  drag_to: object;
  drag: object;
  scroll: object;
  scroll_down: object;
  scroll_up: object;
  scroll_direction: object;
  type_text: object;
  press_key: object;
  hotkey: object;
  key_down: object;
  key_up: object;
  run_command: { stdout: string; stderr: string; return_code: number };
  launch: { pid?: number };
  copy_to_clipboard: { content: string };
  set_clipboard: object;
  file_exists: { exists: boolean };
  directory_exists: { exists: boolean };
  list_dir: { files: string[] };
  read_text: { content: string };
  write_text: object;
  read_bytes: { content_b64: string };
  write_bytes: object;
  get_file_size: { size: number };
  delete_file: object;
  create_dir: object;
  delete_dir: object;
}
/** A command's whole success reply. */
export type CuaResultOf<C extends CuaCommandName> = CuaSuccess<CuaResults[C]>;

export interface CuaCommandSpec<C extends CuaCommandName = CuaCommandName> {
  name: C;
  group: Group;
  description: string;
  params: (typeof COMMANDS)[C]['params'];
  aliases: readonly string[];
}

/** Every command of protocol version 1 that our server offers, in listing order. */
export const CUA_COMMANDS: readonly CuaCommandSpec[] = (Object.keys(COMMANDS) as CuaCommandName[]).map((name) => {
  const def: CommandDef = COMMANDS[name];
  return { name, group: def.group, description: def.description, params: COMMANDS[name].params, aliases: def.aliases ?? [] };
});

/**
 * Commands other cua servers have that ours does not offer (accessibility, windows and apps).
 * A server of ours answers them `success: false` with "... is not supported by this server".
 */
export const CUA_UNSUPPORTED_COMMANDS: readonly string[] = [
  'get_accessibility_tree', 'find_element', 'get_active_window_bounds', 'get_desktop_environment', 'open', 'get_current_window_id',
  'get_application_windows', 'get_window_name', 'get_window_size', 'get_window_position', 'set_window_size',
  'set_window_position', 'maximize_window', 'minimize_window', 'activate_window', 'close_window',
];

const BY_NAME = new Map<string, CuaCommandSpec>(CUA_COMMANDS.flatMap((c) => [[c.name, c] as const, ...c.aliases.map((a) => [a, c] as const)]));

/** The command a name (or alias) stands for, or undefined. */
export function resolveCuaCommand(name: string): CuaCommandSpec | undefined {
  return BY_NAME.get(name);
}

// --- Validation -------------------------------------------------------------------------------

/**
 * Checks a request's params against its command's schema: unknown keys are dropped (as the
 * protocol says), `null` counts as absent, defaults are filled in, and a wrong or missing value
 * is an INVALID_ARGUMENT that names the parameter and says what it takes.
 */
export function validateCuaParams<C extends CuaCommandName>(spec: CuaCommandSpec<C>, params: CuaParams): CuaValuesOf<C> {
  const given = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
  const result = spec.params.safeParse(given);
  if (result.success) return result.data as CuaValuesOf<C>;
  throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, problemText(spec, given, result.error.issues[0]));
}

function problemText(spec: CuaCommandSpec, given: CuaParams, issue: z.core.$ZodIssue): string {
  const name = issue.path[0];
  // Checks across parameters carry their own sentence.
  if (typeof name !== 'string') return issue.message;
  const info = paramInfo.get((spec.params.shape as Record<string, z.ZodType>)[name]);
  if (!info) return `${spec.name}: ${name}: ${issue.message}`;
  const value = given[name];
  if (value === undefined) return `${spec.name} needs ${name}: ${info.description}.`;
  return `${spec.name}: ${name} must be ${info.allowed} (${info.description}), not ${JSON.stringify(value).slice(0, 80)}.`;
}

// --- Listing ----------------------------------------------------------------------------------

/** One parameter in `GET /commands`. */
export interface CuaParamSpec {
  name: string;
  type: CuaParamType;
  description: string;
  required?: boolean;
  /** `null` may be sent and means "no value" (e.g. run_command's timeout). */
  nullable?: boolean;
  default?: unknown;
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

function describeParam(name: string, schema: z.ZodType): CuaParamSpec {
  const info = paramInfo.get(schema);
  if (!info) throw new Error(`The cua command table has a parameter without a description: ${name}`);
  const absent = schema.safeParse(undefined);
  return {
    name,
    type: info.type,
    description: info.description,
    ...(absent.success ? {} : { required: true }),
    ...(schema.safeParse(null).success ? { nullable: true } : {}),
    ...(absent.success && absent.data !== undefined ? { default: absent.data } : {}),
  };
}

export function cuaCommandsListing(offered: readonly CuaCommandSpec[] = CUA_COMMANDS): CuaCommandsListing {
  return {
    protocol: CUA_PROTOCOL_VERSION,
    commands: offered.map((c) => ({
      name: c.name,
      description: c.description,
      params: Object.entries(c.params.shape).map(([name, schema]) => describeParam(name, schema as z.ZodType)),
      aliases: [...c.aliases],
    })),
  };
}

/** The feature groups of the given commands (for `/status`). */
export function cuaFeatures(offered: readonly CuaCommandSpec[] = CUA_COMMANDS): string[] {
  return [...new Set(offered.map((c) => c.group))];
}
