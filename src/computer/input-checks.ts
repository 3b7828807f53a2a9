import { DomainError, DomainErrorCode } from '../common/domain-error';
import type { MouseButton, Point, Size } from './computer.port';

/**
 * Checks every provider makes on the port's input before it touches a desktop, so that a bad call
 * gets the same clear INVALID_ARGUMENT from any provider.
 */
export const invalidInput = (message: string) => new DomainError(DomainErrorCode.INVALID_ARGUMENT, message);

/** A point rounded to whole pixels; INVALID_ARGUMENT when it is not on the screen. */
export function checkPoint(p: Point, screen: Size, what = 'point'): Point {
  const { width, height } = screen;
  if (!p || !Number.isFinite(p.x) || !Number.isFinite(p.y)) throw invalidInput(`The ${what} needs numeric x and y.`);
  const x = Math.round(p.x);
  const y = Math.round(p.y);
  if (x < 0 || y < 0 || x >= width || y >= height) {
    throw invalidInput(`The ${what} (${p.x}, ${p.y}) is outside the ${width}x${height} screen; use 0 ≤ x < ${width} and 0 ≤ y < ${height}.`);
  }
  return { x, y };
}

export function checkButton(b: MouseButton): MouseButton {
  if (b !== 'left' && b !== 'right' && b !== 'middle') throw invalidInput(`Unknown mouse button "${String(b)}"; use left, right or middle.`);
  return b;
}

/** A non-empty list of key-name strings (whether each name is known is the caller's check). */
export function checkKeyList(keys: readonly string[]): string[] {
  const list: unknown = keys;
  if (!Array.isArray(list) || list.length === 0) throw invalidInput('At least one key is required, e.g. ["Return"].');
  if (!list.every((k) => typeof k === 'string')) throw invalidInput('Key names must be strings, e.g. "Control_L".');
  return list;
}
