import { Injectable } from '@nestjs/common';
import { sleep } from '../common/async';
import { DomainError, DomainErrorCode } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { ATTR_CUA_COMPUTER_ACTION, ATTR_CUA_COMPUTER_ID, ATTR_CUA_COMPUTER_PROVIDER, Tracing } from '../tracing/tracing.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from './computer.settings';
import { Computer, MouseButton, Point, SettleResult } from './computer.port';
import { parseKeyCombo } from './keys';
import { ImageSize, Screenshot, ScreenshotService } from './screenshot.service';

/**
 * The action set computer-use models are trained on (Anthropic's `computer` tool names).
 * Coordinates are [x, y] in the screenshot's space.
 */
export const COMPUTER_ACTIONS = [
  'screenshot', 'left_click', 'right_click', 'middle_click', 'double_click', 'triple_click',
  'mouse_move', 'left_click_drag', 'left_mouse_down', 'left_mouse_up', 'scroll',
  'type', 'key', 'hold_key', 'wait', 'cursor_position', 'zoom',
] as const;
export type ComputerActionName = (typeof COMPUTER_ACTIONS)[number];
export type Coordinate = [number, number];

export interface ComputerAction {
  action: ComputerActionName;
  coordinate?: Coordinate;
  start_coordinate?: Coordinate;
  text?: string;
  scroll_direction?: 'up' | 'down' | 'left' | 'right';
  scroll_amount?: number;
  /** Seconds, for wait and hold_key. */
  duration?: number;
  /** For key: how many times to press it (1 to 100, default 1). */
  repeat?: number;
  /** For zoom: [x0, y0, x1, y1], the region of the screenshot to look at closely (x1, y1 exclusive). */
  region?: [number, number, number, number];
}

/** The geometry of the screenshot a coordinate was given in. */
export type ShotGeometry = Pick<Screenshot, 'width' | 'height' | 'scale' | 'screenWidth' | 'screenHeight'>;

/** Actions whose effect a fresh screenshot shows. */
export const CHANGES_SCREEN: ReadonlySet<ComputerActionName> = new Set([
  'left_click', 'right_click', 'middle_click', 'double_click', 'triple_click', 'mouse_move', 'left_click_drag',
  'left_mouse_down', 'left_mouse_up', 'scroll', 'type', 'key', 'hold_key', 'wait',
]);

/**
 * Actions that send input to the desktop (pointer or keyboard). The others only look (`screenshot`,
 * `cursor_position`, `zoom`) or pass time (`wait`): they stay allowed while a person controls the desktop.
 */
export const SENDS_INPUT: ReadonlySet<ComputerActionName> = new Set([
  'left_click', 'right_click', 'middle_click', 'double_click', 'triple_click', 'mouse_move', 'left_click_drag',
  'left_mouse_down', 'left_mouse_up', 'scroll', 'type', 'key', 'hold_key',
]);

/**
 * Actions whose effect may still be drawing when they return: a screenshot after them first waits
 * for the screen to settle. Not `wait`: the model already chose how long to wait.
 */
export const SETTLES_AFTER: ReadonlySet<ComputerActionName> = new Set([...CHANGES_SCREEN].filter((a) => a !== 'wait'));

/** One line on how the wait for the screen ended, for tool results and the model. */
export function describeSettle(r: SettleResult): string {
  if (r.changed === undefined) return `waited a fixed ${r.waitedMs} ms for the screen to update (this computer cannot report changes)`;
  if (r.hitCap) return `the screen was still changing after ${r.waitedMs} ms (SCREENSHOT_SETTLE_MAX_MS): the screenshot may show it mid-change`;
  if (r.changed) return `the screen changed and settled after ${r.waitedMs} ms`;
  return `the screen did not change within ${r.waitedMs} ms`;
}

/** A SettleResult as tool results and trajectories write it. */
export function settleJson(r: SettleResult): { waited_ms: number; hit_cap: boolean; changed?: boolean } {
  return { waited_ms: r.waitedMs, hit_cap: r.hitCap, ...(r.changed === undefined ? {} : { changed: r.changed }) };
}

export const MAX_TYPE_CHARS = 10_000;
export const MAX_DURATION_S = 100;

export interface ActionOutcome {
  /** A short human-readable description of what was done. */
  summary: string;
  /** For cursor_position: where the pointer is, in screenshot space. */
  coordinate?: Coordinate;
  /** For zoom: the region, enlarged. Coordinates of later actions still refer to the full screenshot. */
  image?: Screenshot;
}

const invalid = (msg: string) => new DomainError(DomainErrorCode.INVALID_ARGUMENT, msg);
const CLICKS: Partial<Record<ComputerActionName, [MouseButton, number]>> = {
  left_click: ['left', 1], right_click: ['right', 1], middle_click: ['middle', 1], double_click: ['left', 2], triple_click: ['left', 3],
};

/**
 * Carries out one ComputerAction on a computer, mapping coordinates from screenshot space; each action is a span
 * (`computer <action>`: the action's kind and the computer's provider, never its text or keys).
 */
@Injectable()
export class ComputerActionRunner {
  constructor(
    private readonly screenshots: ScreenshotService,
    @InjectSettings(COMPUTER_SETTINGS) private readonly settings: ComputerSettings,
    private readonly tracing: Tracing,
  ) {}

  /**
   * Waits until the screen shows the effect of actions that began at `since` (performance.now()),
   * within the SCREENSHOT_SETTLE_* settings; `firstChangeMs` replaces how long to wait for a first
   * change (at most SCREENSHOT_SETTLE_MAX_MS), e.g. for a program that needs time to open its window.
   * Undefined when the computer's provider cannot wait, or SCREENSHOT_SETTLE_MAX_MS is 0.
   */
  async settle(computer: Computer, since: number, signal?: AbortSignal, firstChangeMs?: number): Promise<SettleResult | undefined> {
    const cfg = this.settings.settle;
    if (!computer.supports('settle') || cfg.maxMs === 0) return undefined;
    return computer.settle({ since, quietMs: cfg.quietMs, maxMs: cfg.maxMs, firstChangeMs: Math.min(firstChangeMs ?? cfg.firstChangeMs, cfg.maxMs), signal });
  }

  /**
   * `shot`: the screenshot the coordinates refer to (defaults to one taken now at the server's sizes).
   * `size`: the image limits of whoever reads a zoom (a model's own, when it differs from the server's).
   */
  run(computer: Computer, a: ComputerAction, signal?: AbortSignal, shot?: ShotGeometry, size?: ImageSize): Promise<ActionOutcome> {
    // A model may name an action that does not exist: span names stay within the known ones.
    const kind = (COMPUTER_ACTIONS as readonly string[]).includes(a.action) ? a.action : 'unknown';
    const attributes = { [ATTR_CUA_COMPUTER_ACTION]: kind, [ATTR_CUA_COMPUTER_PROVIDER]: computer.provider, [ATTR_CUA_COMPUTER_ID]: computer.id };
    return this.tracing.inSpan(`computer ${kind}`, { attributes }, () => this.perform(computer, a, signal, shot, size));
  }

  private async perform(computer: Computer, a: ComputerAction, signal?: AbortSignal, shot?: ShotGeometry, size?: ImageSize): Promise<ActionOutcome> {
    const geo = shot ?? (await this.screenshots.geometry(computer));
    const at = (c: Coordinate | undefined, field = 'coordinate'): Point => {
      if (!c) throw invalid(`${a.action} needs ${field}: [x, y] in screenshot pixels (0..${geo.width - 1}, 0..${geo.height - 1}).`);
      if (!Array.isArray(c) || c.length !== 2 || !c.every((n) => typeof n === 'number' && Number.isFinite(n))) {
        throw invalid(`${field} must be [x, y] with two numbers.`);
      }
      return this.screenshots.toScreen({ x: c[0], y: c[1] }, geo);
    };
    const needText = (what: string) => {
      if (typeof a.text !== 'string' || a.text.length === 0) throw invalid(`${a.action} needs text: ${what}.`);
      return a.text;
    };
    const seconds = () => {
      const d = a.duration;
      if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > MAX_DURATION_S) {
        throw invalid(`${a.action} needs duration in seconds, between 0 and ${MAX_DURATION_S}.`);
      }
      return d;
    };
    const withModifiers = async <T>(fn: () => Promise<T>): Promise<T> => {
      if (!a.text) return fn();
      // Modifier keys held down during a click or scroll, e.g. text: "shift".
      const keys = parseKeyCombo(a.text);
      await computer.setKeys(keys, true);
      try {
        return await fn();
      } finally {
        await computer.setKeys(keys, false);
      }
    };

    const click = CLICKS[a.action];
    if (click) {
      const p = a.coordinate ? at(a.coordinate) : await computer.cursorPosition();
      await withModifiers(() => computer.click(p, click[0], click[1]));
      return { summary: `${a.action} at (${p.x}, ${p.y})` };
    }
    switch (a.action) {
      case 'screenshot':
        return { summary: 'screenshot' };
      case 'mouse_move': {
        const p = at(a.coordinate);
        await computer.moveMouse(p);
        return { summary: `moved to (${p.x}, ${p.y})` };
      }
      case 'left_click_drag': {
        const from = a.start_coordinate ? at(a.start_coordinate, 'start_coordinate') : await computer.cursorPosition();
        const to = at(a.coordinate);
        await computer.drag([from, to], 'left');
        return { summary: `dragged (${from.x}, ${from.y}) → (${to.x}, ${to.y})` };
      }
      case 'left_mouse_down':
      case 'left_mouse_up': {
        if (a.coordinate) await computer.moveMouse(at(a.coordinate));
        await (a.action === 'left_mouse_down' ? computer.mouseDown('left') : computer.mouseUp('left'));
        return { summary: a.action };
      }
      case 'scroll': {
        const dir = a.scroll_direction;
        if (!dir || !['up', 'down', 'left', 'right'].includes(dir)) throw invalid('scroll needs scroll_direction: up, down, left or right.');
        const amount = a.scroll_amount ?? 3;
        if (!Number.isInteger(amount) || amount < 1 || amount > 100) throw invalid('scroll_amount must be a whole number of wheel clicks, 1 to 100.');
        const p = a.coordinate ? at(a.coordinate) : await computer.cursorPosition();
        const dx = dir === 'left' ? -amount : dir === 'right' ? amount : 0;
        const dy = dir === 'up' ? -amount : dir === 'down' ? amount : 0;
        await withModifiers(() => computer.scroll(p, dx, dy));
        return { summary: `scrolled ${dir} ${amount} at (${p.x}, ${p.y})` };
      }
      case 'type': {
        const text = needText('the text to type');
        if (text.length > MAX_TYPE_CHARS) throw invalid(`type takes at most ${MAX_TYPE_CHARS} characters at a time; split the text.`);
        await computer.typeText(text);
        return { summary: `typed ${JSON.stringify(text.length > 60 ? text.slice(0, 57) + '...' : text)}` };
      }
      case 'key': {
        const keys = parseKeyCombo(needText('an xdotool-style key such as "Return" or "ctrl+s"'));
        const repeat = a.repeat ?? 1;
        if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw invalid('repeat must be a whole number of presses, 1 to 100.');
        for (let i = 0; i < repeat; i++) {
          if (signal?.aborted) break;
          await computer.pressKeys(keys);
        }
        return { summary: `pressed ${a.text}${repeat > 1 ? ` ${repeat} times` : ''}` };
      }
      case 'hold_key': {
        const keys = parseKeyCombo(needText('the key to hold, e.g. "shift"'));
        const d = seconds();
        await computer.holdKeys(keys, d * 1000, signal);
        return { summary: `held ${a.text} for ${d} s` };
      }
      case 'wait': {
        const d = seconds();
        await sleep(d * 1000, signal);
        return { summary: `waited ${d} s` };
      }
      case 'zoom': {
        const r = a.region;
        if (!Array.isArray(r) || r.length !== 4 || !r.every((n) => typeof n === 'number' && Number.isFinite(n))) {
          throw invalid(`zoom needs region: [x0, y0, x1, y1] in screenshot pixels, inside 0..${geo.width} x 0..${geo.height}.`);
        }
        const [x0, y0, x1, y1] = r;
        if (x0 < 0 || y0 < 0 || x1 > geo.width || y1 > geo.height || x1 <= x0 || y1 <= y0) {
          throw invalid(`zoom region [${r.join(', ')}] must have x0 < x1 <= ${geo.width} and y0 < y1 <= ${geo.height}, all from 0.`);
        }
        // Screen pixels, rounded outwards so the region is never lost to rounding.
        const left = Math.max(0, Math.floor(x0 / geo.scale));
        const top = Math.max(0, Math.floor(y0 / geo.scale));
        const right = Math.min(geo.screenWidth, Math.max(left + 1, Math.ceil(x1 / geo.scale)));
        const bottom = Math.min(geo.screenHeight, Math.max(top + 1, Math.ceil(y1 / geo.scale)));
        const image = await this.screenshots.zoom(computer, { x: left, y: top, width: right - left, height: bottom - top }, signal, size);
        return { summary: `zoomed into (${left}, ${top})-(${right}, ${bottom}) at ${image.width}x${image.height}`, image };
      }
      case 'cursor_position': {
        const p = await computer.cursorPosition();
        const c: Coordinate = [Math.round(p.x * geo.scale), Math.round(p.y * geo.scale)];
        return { summary: `cursor at (${c[0]}, ${c[1]})`, coordinate: c };
      }
      default:
        throw invalid(`Unknown action "${String(a.action)}". Known: ${COMPUTER_ACTIONS.join(', ')}.`);
    }
  }
}
