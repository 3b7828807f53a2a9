import { CuaParams } from './wire';

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
