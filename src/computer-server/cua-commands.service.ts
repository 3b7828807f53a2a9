import { Injectable } from '@nestjs/common';
import sharp from 'sharp';
import { sleep } from '../common/async';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { packageVersion } from '../common/version';
import { Computer, MouseButton, Point } from '../computer/computer.module';
import { InjectSettings } from '../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../computer/computer.settings';
import { CUA_COMMANDS, CUA_PROTOCOL_VERSION, CuaCommandName, CuaCommandSpec, CuaParams, CuaResults, CuaValuesOf, validateCuaParams } from '../cua-protocol';
import { DesktopService } from './desktop.service';
import { desktopKeysOf } from './desktop-keys';
import { FileCommands } from './file-commands';

type Handler<C extends CuaCommandName> = (computer: Computer, v: CuaValuesOf<C>, signal: AbortSignal) => Promise<CuaResults[C]>;
type Handlers = { [C in CuaCommandName]: Handler<C> };

/** Scroll amounts beyond this many wheel clicks (some agents pass pixels) are capped to it. */
const MAX_WHEEL = 100;
const CLIPBOARD_READ_TIMEOUT_MS = 5_000;

/** The point given (the schema makes sure it is both x and y or neither), or undefined: "at the cursor". */
const pointOf = (v: { x?: number; y?: number }): Point | undefined => (v.x === undefined || v.y === undefined ? undefined : { x: v.x, y: v.y });
const at = async (c: Computer, v: { x?: number; y?: number }): Promise<Point> => pointOf(v) ?? c.cursorPosition();
/** One word for /bin/sh, whatever it holds: single-quoted, with single quotes spliced in. */
export const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
/** Wheel clicks, rounded; amounts beyond 100 (some agents pass pixels) are capped at 100. */
const wheel = (n: number) => Math.max(-MAX_WHEEL, Math.min(MAX_WHEEL, Math.round(n)));

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
  private readonly handlers: Handlers;
  private readonly version = packageVersion();

  constructor(
    private readonly desktop: DesktopService,
    @InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
    files: FileCommands,
  ) {
    type At = { x?: number; y?: number };
    const click = (button: MouseButton, count: number) => async (c: Computer, v: At) => {
      await c.click(await at(c, v), button, count);
      return {};
    };
    const press = (down: boolean | undefined) => async (c: Computer, v: { key: string }) => {
      const keys = desktopKeysOf(v.key);
      await (down === undefined ? c.pressKeys(keys) : c.setKeys(keys, down));
      return {};
    };
    const button = (down: boolean) => async (c: Computer, v: At & { button: MouseButton }) => {
      const p = pointOf(v);
      if (p) await c.moveMouse(p);
      await (down ? c.mouseDown(v.button) : c.mouseUp(v.button));
      return {};
    };
    const scrollBy = async (c: Computer, dx: number, dy: number) => {
      if (dx !== 0 || dy !== 0) await c.scroll(await c.cursorPosition(), dx, dy);
      return {};
    };

    this.handlers = {
      version: async () => ({ protocol: CUA_PROTOCOL_VERSION, package: this.version }),
      screenshot: async (c, v, signal) => ({ image_data: await this.screenshot(c, v.format, v.quality, signal) }),
      get_screen_size: async (c) => ({ size: await c.screenSize() }),
      get_cursor_position: async (c) => {
        const { x, y } = await c.cursorPosition();
        return { position: { x, y } };
      },
      left_click: click('left', 1),
      right_click: click('right', 1),
      double_click: click('left', 2),
      triple_click: click('left', 3),
      move_cursor: async (c, v) => {
        await c.moveMouse({ x: v.x, y: v.y });
        return {};
      },
      mouse_down: button(true),
      mouse_up: button(false),
      drag_to: async (c, v, signal) => {
        const from = await c.cursorPosition();
        await dragOver(c, line(from, { x: Math.round(v.x), y: Math.round(v.y) }), v.button, v.duration, signal);
        return {};
      },
      drag: async (c, v, signal) => {
        // The schema makes sure there is a path, or all four of the older form.
        const path = v.path
          ? v.path.map(([x, y]) => ({ x, y }))
          : line({ x: v.start_x!, y: v.start_y! }, { x: v.end_x!, y: v.end_y! });
        await dragOver(c, path, v.button, v.duration, signal);
        return {};
      },
      scroll: async (c, v) => scrollBy(c, wheel(v.x), wheel(v.y)),
      scroll_down: async (c, v) => scrollBy(c, 0, v.clicks),
      scroll_up: async (c, v) => scrollBy(c, 0, -v.clicks),
      scroll_direction: async (c, v) => {
        const n = v.clicks;
        const d = v.direction;
        return scrollBy(c, d === 'left' ? -n : d === 'right' ? n : 0, d === 'up' ? -n : d === 'down' ? n : 0);
      },
      type_text: async (c, v) => {
        await c.typeText(v.text);
        return {};
      },
      press_key: press(undefined),
      hotkey: async (c, v) => {
        await c.pressKeys(v.keys.flatMap(desktopKeysOf));
        return {};
      },
      key_down: press(true),
      key_up: press(false),
      run_command: (c, v, signal) => this.runCommand(c, v.command, v.timeout, signal),
      launch: async (c, v) => {
        if (!c.supports('launch')) throw this.unsupportedHere('launch');
        // argv, quoted for the shell the computer starts it with: nothing in app or args is shell code.
        const command = [v.app, ...v.args].map(shellQuote).join(' ');
        const { pid } = await c.launch(command);
        return pid === undefined ? {} : { pid };
      },
      copy_to_clipboard: (c, _v, signal) => this.readClipboard(c, signal),
      set_clipboard: async (c, v) => {
        if (!c.supports('setClipboard')) throw this.unsupportedHere('set_clipboard');
        await c.setClipboard(v.text);
        return {};
      },
      ...files.handlers,
    };
  }

  /** The commands this desktop can carry out (files and clipboard need a provider that runs programs). */
  offered(): CuaCommandSpec[] {
    const c = this.desktop.peek();
    return CUA_COMMANDS.filter((s) => {
      if (s.group === 'files') return !!c?.supports('runProgram');
      if (s.group === 'clipboard') return !!c?.supports('runProgram') && c.supports('setClipboard');
      if (s.group === 'apps') return !!c?.supports('launch');
      return true;
    });
  }

  /** Checks the params against the command's schema and runs it; throws DomainError (or any Error) on failure. */
  execute<C extends CuaCommandName>(spec: CuaCommandSpec<C>, params: CuaParams, signal: AbortSignal): Promise<object> {
    const values = validateCuaParams(spec, params);
    const handler = this.handlers[spec.name] as Handler<C>;
    return handler(this.desktop.get(), values, signal);
  }

  private unsupportedHere(name: string) {
    return new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `${name} is not supported by this server's desktop (provider ${this.desktop.get().provider}).`);
  }

  private async screenshot(c: Computer, format: 'png' | 'jpeg', quality: number, signal: AbortSignal): Promise<string> {
    const frame = await c.capture(signal);
    if (frame.kind === 'encoded' && frame.mimeType === `image/${format}` && format === 'png') return frame.data.toString('base64');
    const img = frame.kind === 'raw' ? sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } }) : sharp(frame.data);
    const out = format === 'jpeg' ? await img.jpeg({ quality }).toBuffer() : await img.png({ compressionLevel: 6 }).toBuffer();
    return out.toString('base64');
  }

  private async runCommand(c: Computer, command: string, timeout: number | null, signal: AbortSignal): Promise<CuaResults['run_command']> {
    const timeoutMs = timeout === null ? this.computer.commandTimeoutMs : Math.ceil(timeout * 1000);
    const r = await c.runCommand(command, { timeoutMs, signal });
    if (r.timedOut) throw new DomainError(DomainErrorCode.TIMEOUT, `The command did not finish within ${timeoutMs / 1000} s and was stopped.`);
    if (r.exitCode === null) throw new DomainError(DomainErrorCode.CANCELLED, `The command was stopped before it finished. ${r.stderr.trim()}`.trim());
    return { stdout: r.stdout, stderr: r.stderr, return_code: r.exitCode };
  }

  private async readClipboard(c: Computer, signal: AbortSignal): Promise<CuaResults['copy_to_clipboard']> {
    if (!c.supports('runProgram')) throw this.unsupportedHere('copy_to_clipboard');
    const r = await c.runProgram(['xclip', '-selection', 'clipboard', '-out'], { timeoutMs: CLIPBOARD_READ_TIMEOUT_MS, signal });
    if (r.timedOut) throw new DomainError(DomainErrorCode.TIMEOUT, 'The clipboard owner did not answer in time.');
    if (r.exitCode === 0) return { content: r.stdout.toString('utf8') };
    // Nothing owns the clipboard (or it holds no text): that is an empty clipboard.
    if (/not available|no selection/i.test(r.stderr)) return { content: '' };
    throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Could not read the clipboard: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  }
}
