/** What a redacted value becomes. */
export const REDACTED = '[redacted]';

/** Arguments whose values are credentials whatever they hold (live_view_control's `token`, and the like). */
const SECRET_NAME = /(^|[_-])(token|secret|password|passwd|api[_-]?key|authorization|credentials?)$/i;
/** Arguments of free text: kept up to AUDIT_TEXT_CHARS after redaction (a task, a command). */
const FREE_TEXT: ReadonlySet<string> = new Set(['task', 'tasks', 'command']);
/** Other strings (ids, actions, key names) are short; anything longer is cut here. */
const MAX_STRING = 256;
/** Arrays (coordinates, task lists) and objects keep at most this many items. */
const MAX_ITEMS = 64;
const MAX_DEPTH = 4;

export interface DigestOptions {
  /** Removes configured secrets and credential-shaped text (the agent's SecretRedactor). */
  redact: (text: string) => string;
  /** AUDIT_TEXT_CHARS: how much of a free text is kept; 0 keeps only its length. */
  textChars: number;
}

const chars = (n: number) => `${n} character${n === 1 ? '' : 's'}`;

function cut(text: string, max: number): string {
  if (max === 0) return `[${chars(text.length)}]`;
  return text.length > max ? `${text.slice(0, max)}… (${chars(text.length - max)} more)` : text;
}

/** Text the computer types into the desktop: only its length is kept, never the text (it may be a password). */
export function typedText(text: unknown): string {
  return typeof text === 'string' ? `[typed text, ${chars(text.length)}]` : REDACTED;
}

/** Whether this argument of this call is text typed into the desktop. */
function isTyped(tool: string, args: Record<string, unknown>, name: string): boolean {
  return tool === 'computer' && name === 'text' && args.action === 'type';
}

function digestValue(name: string, value: unknown, options: DigestOptions, depth: number): unknown {
  if (SECRET_NAME.test(name)) return REDACTED;
  if (typeof value === 'string') return cut(options.redact(value), FREE_TEXT.has(name) ? options.textChars : MAX_STRING);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => digestValue(name, v, options, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `… (${value.length - MAX_ITEMS} more)`] : items;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).slice(0, MAX_ITEMS);
    return Object.fromEntries(entries.map(([k, v]) => [k.slice(0, 64), digestValue(k, v, options, depth + 1)]));
  }
  return `[${typeof value}]`;
}

/**
 * A tool call's arguments as the audit trail keeps them: credentials (by name, by shape, and the configured secrets)
 * redacted, text typed into the desktop reduced to its length, free text (tasks, commands) cut to AUDIT_TEXT_CHARS,
 * other strings to 256 characters, lists and objects to 64 items. `session_id` is left out: the line names the
 * session. Nothing binary is ever among a tool's arguments.
 */
export function digestArgs(tool: string, args: Record<string, unknown>, options: DigestOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args).slice(0, MAX_ITEMS)) {
    if (name === 'session_id' || value === undefined) continue;
    out[name.slice(0, 64)] = isTyped(tool, args, name) ? typedText(value) : digestValue(name, value, options, 0);
  }
  return out;
}
