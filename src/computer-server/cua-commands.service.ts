import { Injectable } from '@nestjs/common';
import sharp from 'sharp';
import { CUA_COMMANDS, CUA_PROTOCOL_VERSION, CuaCommandName, CuaCommandSpec } from '../common/cua-protocol';
import { sleep } from '../common/async';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { packageVersion } from '../common/version';
import { Computer, MouseButton, Point } from '../computer/computer.module';
import { AppConfig } from '../config/config.module';
import { cuaKeysToKeys, cuaKeyToKeys } from './cua-keys';
import { DesktopService } from './desktop.service';
import { FILE_COMMANDS, FileCommands } from './file-commands';

type Values = Record<string, unknown>;
type Handler = (computer: Computer, v: Values, signal: AbortSignal) => Promise<object>;

const invalid = (msg: string) => new DomainError(DomainErrorCode.INVALID_ARGUMENT, msg);
const MAX_TYPE_CHARS = 100_000;
const MAX_RUN_TIMEOUT_S = 3600;
const MAX_DRAG_S = 60;
const MAX_WHEEL = 100;
const CLIPBOARD_READ_TIMEOUT_MS = 5_000;

/** Both x and y, or neither (then undefined: "at the cursor"). */
function optionalPoint(v: Values): Point | undefined {
  const { x, y } = v as { x?: number; y?: number };
  if (x === undefined && y === undefined) return undefined;
  if (x === undefined || y === undefined) throw invalid('Give both x and y, or neither (to act at the cursor).');
  return { x, y };
}
const at = async (c: Computer, v: Values): Promise<Point> => optionalPoint(v) ?? c.cursorPosition();
/** One word for /bin/sh, whatever it holds: single-quoted, with single quotes spliced in. */
export const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
/** Wheel clicks, rounded; amounts beyond 100 (some agents pass pixels) are capped at 100. */
const wheel = (n: number) => Math.max(-MAX_WHEEL, Math.min(MAX_WHEEL, Math.round(n)));
const clicks = (v: Values) => {
  const n = v.clicks as number;
  if (n < 1 || n > 100) throw invalid('clicks must be a whole number from 1 to 100.');
  return n;
};
const duration = (v: Values): number => {
  const d = v.duration as number;
  if (d < 0 || d > MAX_DRAG_S) throw invalid(`duration must be between 0 and ${MAX_DRAG_S} seconds.`);
  return d;
};

/**
 * Drags along `path` taking `seconds` (the protocol's duration): press at the first point, move
 * through the rest at an even pace, release at the last. The button is released even when a
 * move fails or the request is cancelled.
 */
async function dragOver(c: Computer, path: Point[], button: MouseButton, seconds: number, signal: AbortSignal): Promise<void> {
  if (seconds === 0) return c.drag(path, button);
  await c.moveMouse(path[0]);
  await c.mouseDown(button);
  try {
    const pause = (seconds * 1000) / (path.length - 1);
    for (const p of path.slice(1)) {
      await sleep(pause, signal);
      await c.moveMouse(p);
    }
  } finally {
    await c.mouseUp(button);
  }
}
/** Intermediate points, so programs that track motion see a real drag. */
function line(from: Point, to: Point, steps = 10): Point[] {
  const pts: Point[] = [];
  for (let i = 0; i <= steps; i++) pts.push({ x: Math.round(from.x + ((to.x - from.x) * i) / steps), y: Math.round(from.y + ((to.y - from.y) * i) / steps) });
  return pts;
}

/** The commands computer-server mode carries out on its desktop, one handler per protocol command. */
@Injectable()
export class CuaCommandService {
  private readonly handlers: Record<CuaCommandName, Handler>;
  private readonly version = packageVersion();

  constructor(
    private readonly desktop: DesktopService,
    private readonly config: AppConfig,
    private readonly files: FileCommands,
  ) {
    const click = (button: MouseButton, count: number): Handler => async (c, v) => {
      await c.click(await at(c, v), button, count);
      return {};
    };
    const press = (down: boolean | undefined): Handler => async (c, v) => {
      const keys = cuaKeyToKeys(v.key);
      await (down === undefined ? c.pressKeys(keys) : c.setKeys(keys, down));
      return {};
    };
    const button = (down: boolean): Handler => async (c, v) => {
      const p = optionalPoint(v);
      if (p) await c.moveMouse(p);
      await (down ? c.mouseDown(v.button as MouseButton) : c.mouseUp(v.button as MouseButton));
      return {};
    };
    const scrollBy = async (c: Computer, dx: number, dy: number) => {
      if (dx !== 0 || dy !== 0) await c.scroll(await c.cursorPosition(), dx, dy);
      return {};
    };
    const file = (name: (typeof FILE_COMMANDS)[number]): Handler => (c, v, signal) => this.files.run(c, name, v, signal);

    this.handlers = {
      version: async () => ({ protocol: CUA_PROTOCOL_VERSION, package: this.version }),
      screenshot: async (c, v, signal) => ({ image_data: await this.screenshot(c, v, signal) }),
      get_screen_size: async (c) => ({ size: await c.screenSize() }),
      get_cursor_position: async (c) => {
        const { x, y } = await c.cursorPosition();
        return { position: { x, y } };
      },
      left_click: click('left', 1),
      right_click: click('right', 1),
      double_click: click('left', 2),
      move_cursor: async (c, v) => {
        await c.moveMouse({ x: v.x as number, y: v.y as number });
        return {};
      },
      mouse_down: button(true),
      mouse_up: button(false),
      drag_to: async (c, v, signal) => {
        const seconds = duration(v);
        const from = await c.cursorPosition();
        await dragOver(c, line(from, { x: Math.round(v.x as number), y: Math.round(v.y as number) }), v.button as MouseButton, seconds, signal);
        return {};
      },
      drag: async (c, v, signal) => {
        const seconds = duration(v);
        let path: Point[];
        if (v.path !== undefined) {
          path = (v.path as [number, number][]).map(([x, y]) => ({ x, y }));
        } else if ([v.start_x, v.start_y, v.end_x, v.end_y].every((n) => typeof n === 'number')) {
          path = line({ x: v.start_x as number, y: v.start_y as number }, { x: v.end_x as number, y: v.end_y as number });
        } else {
          throw invalid('drag needs path: [[x, y], ...] with at least two points (or start_x, start_y, end_x and end_y).');
        }
        if (path.length < 2) throw invalid('drag needs a path of at least two points.');
        await dragOver(c, path, v.button as MouseButton, seconds, signal);
        return {};
      },
      scroll: async (c, v) => scrollBy(c, wheel(v.x as number), wheel(v.y as number)),
      scroll_down: async (c, v) => scrollBy(c, 0, clicks(v)),
      scroll_up: async (c, v) => scrollBy(c, 0, -clicks(v)),
      scroll_direction: async (c, v) => {
        const n = clicks(v);
        const d = v.direction as string;
        return scrollBy(c, d === 'left' ? -n : d === 'right' ? n : 0, d === 'up' ? -n : d === 'down' ? n : 0);
      },
      type_text: async (c, v) => {
        const text = v.text as string;
        if (text.length > MAX_TYPE_CHARS) throw invalid(`type_text takes at most ${MAX_TYPE_CHARS} characters at a time; split the text.`);
        await c.typeText(text);
        return {};
      },
      press_key: press(undefined),
      hotkey: async (c, v) => {
        await c.pressKeys(cuaKeysToKeys(v.keys as string[]));
        return {};
      },
      key_down: press(true),
      key_up: press(false),
      run_command: (c, v, signal) => this.runCommand(c, v, signal),
      launch: async (c, v) => {
        if (!c.launch) throw this.unsupportedHere('launch');
        // argv, quoted for the shell the computer starts it with: nothing in app or args is shell code.
        if (!(v.app as string).trim()) throw invalid('launch needs app, e.g. "xterm".');
        const command = [v.app as string, ...((v.args as string[] | undefined) ?? [])].map(shellQuote).join(' ');
        const { pid } = await c.launch(command);
        return pid === undefined ? {} : { pid };
      },
      copy_to_clipboard: (c, _v, signal) => this.readClipboard(c, signal),
      set_clipboard: async (c, v) => {
        if (!c.setClipboard) throw this.unsupportedHere('set_clipboard');
        await c.setClipboard(v.text as string);
        return {};
      },
      file_exists: file('file_exists'),
      directory_exists: file('directory_exists'),
      list_dir: file('list_dir'),
      read_text: file('read_text'),
      write_text: file('write_text'),
      read_bytes: file('read_bytes'),
      write_bytes: file('write_bytes'),
      get_file_size: file('get_file_size'),
      delete_file: file('delete_file'),
      create_dir: file('create_dir'),
      delete_dir: file('delete_dir'),
    };
  }

  /** The commands this desktop can carry out (files and clipboard need a provider that runs programs). */
  offered(): CuaCommandSpec[] {
    const c = this.desktop.peek();
    return CUA_COMMANDS.filter((s) => {
      if (s.group === 'files') return !!c?.runProgram;
      if (s.group === 'clipboard') return !!c?.runProgram && !!c.setClipboard;
      if (s.group === 'apps') return !!c?.launch;
      return true;
    });
  }

  /** Runs one command with validated values; throws DomainError (or any Error) on failure. */
  execute(spec: CuaCommandSpec, values: Values, signal: AbortSignal): Promise<object> {
    return this.handlers[spec.name](this.desktop.get(), values, signal);
  }

  private unsupportedHere(name: string) {
    return new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `${name} is not supported by this server's desktop (provider ${this.desktop.get().provider}).`);
  }

  private async screenshot(c: Computer, v: Values, signal: AbortSignal): Promise<string> {
    const format = v.format as 'png' | 'jpeg';
    const quality = v.quality as number;
    if (quality < 1 || quality > 100) throw invalid('quality must be a whole number from 1 to 100.');
    const frame = await c.capture(signal);
    if (frame.kind === 'encoded' && frame.mimeType === `image/${format}` && format === 'png') return frame.data.toString('base64');
    const img = frame.kind === 'raw' ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } }) : sharp(frame.data);
    const out = format === 'jpeg' ? await img.jpeg({ quality }).toBuffer() : await img.png({ compressionLevel: 6 }).toBuffer();
    return out.toString('base64');
  }

  private async runCommand(c: Computer, v: Values, signal: AbortSignal): Promise<object> {
    const command = v.command as string;
    if (!command.trim()) throw invalid('run_command needs a command, e.g. "ls -la".');
    const timeout = v.timeout as number | undefined;
    if (timeout !== undefined && (timeout <= 0 || timeout > MAX_RUN_TIMEOUT_S)) throw invalid(`timeout must be between 0 and ${MAX_RUN_TIMEOUT_S} seconds.`);
    const timeoutMs = timeout === undefined ? this.config.computer.commandTimeoutMs : Math.ceil(timeout * 1000);
    const r = await c.runCommand(command, { timeoutMs, signal });
    if (r.timedOut) throw new DomainError(DomainErrorCode.TIMEOUT, `The command did not finish within ${timeoutMs / 1000} s and was stopped.`);
    if (r.exitCode === null) throw new DomainError(DomainErrorCode.CANCELLED, `The command was stopped before it finished. ${r.stderr.trim()}`.trim());
    return { stdout: r.stdout, stderr: r.stderr, return_code: r.exitCode };
  }

  private async readClipboard(c: Computer, signal: AbortSignal): Promise<object> {
    if (!c.runProgram) throw this.unsupportedHere('copy_to_clipboard');
    const r = await c.runProgram(['xclip', '-selection', 'clipboard', '-out'], { timeoutMs: CLIPBOARD_READ_TIMEOUT_MS, signal });
    if (r.timedOut) throw new DomainError(DomainErrorCode.TIMEOUT, 'The clipboard owner did not answer in time.');
    if (r.exitCode === 0) return { content: r.stdout.toString('utf8') };
    // Nothing owns the clipboard (or it holds no text): that is an empty clipboard.
    if (/not available|no selection/i.test(r.stderr)) return { content: '' };
    throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Could not read the clipboard: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  }
}
