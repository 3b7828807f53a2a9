import { Injectable } from '@nestjs/common';
import { Settings } from '../config/config.module';

/** What a redacted stretch of text becomes. */
export const REDACTED = '[redacted]';
/** A run of this many characters of a secret (or of one of its encoded forms) is redacted wherever it shows up. */
export const MIN_FRAGMENT = 8;
/** Secrets shorter than MIN_FRAGMENT are redacted only where they appear whole, and only from this length on. */
const MIN_SECRET = 4;

/** Characters a redaction grows over on either side, so the rest of a truncated or elided echo goes with it. */
const GROW_LEFT = /[A-Za-z0-9_\-*…%+~]/;
const GROW_RIGHT = /[A-Za-z0-9_\-*…%+~=.]/;

/**
 * Where a secret's echo is redacted whatever its content: after an auth scheme (`Bearer …`, `Basic …`) unless the
 * word after it is plain lower-case prose, and after a credential field name (`x-api-key: …`, `"api_key": "…"`,
 * `Authorization: Bearer …`, `?key=…`).
 */
const AUTH_SCHEME = /\b(Bearer|bearer|BEARER|Basic|basic|BASIC)(\s+)(?![a-z]+(?![^\s"',;.)]))([^\s"',;)]+)/g;
const CREDENTIAL_FIELD =
  /((?<![A-Za-z0-9])(?:x-api-key|x-goog-api-key|api[-_]?key|authorization|proxy-authorization|access[-_]token|refresh[-_]token|client[-_]secret|secret|password|passwd|token)["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|bearer|basic)\s+)?)([^\s"',;&)]+)/gi;
const QUERY_KEY = /([?&](?:key|sig|signature)=)([^\s"'&#]+)/gi;
/** Key shapes that need no guessing: vendor prefixes (`sk-…`, `sk-ant-…`, `sk-proj-…`, `pk-…`, `rk-…`, `key-…`) and JWTs. */
const KEY_PREFIX = /\b(sk|pk|rk|key)-[A-Za-z0-9*_.…-]{6,}/g;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?/g;
/** Candidates for the high-entropy check: long runs of key alphabet (base62, base64, base64url, hex). */
const TOKEN = /[A-Za-z0-9_\-+/]{20,}={0,2}/g;
/** Identifiers vendors put in errors that a user needs to report a problem (request, message, response, call ids). */
const ID_PREFIX = /^(?:req|request|msg|resp|toolu|srvtoolu|call|chatcmpl|cu|rs|fc|run|file|batch|ses)[_-]/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a token looks like a key rather than a word, a model name or an id: long hexadecimal (32+), or 20+
 * characters whose longest part between dashes (16+) mixes lower case, upper case and digits that switch between those classes as often as random text
 * does, with upper-case letters not mostly starting lower-case runs (as they do in CamelCase words).
 */
export function looksLikeKey(token: string): boolean {
  const t = token.replace(/=+$/, '');
  if (ID_PREFIX.test(t) || UUID.test(t)) return false;
  if (/^[0-9a-fA-F]{32,}$/.test(t)) return /\d/.test(t) && /[a-fA-F]/.test(t);
  // Judge the longest stretch between separators: model names are short parts joined by dashes, keys are not.
  const core = t
    .split(/[-_]/)
    .reduce((a, b) => (b.length > a.length ? b : a), '')
    .replace(/[+/]/g, '');
  if (core.length < 16 || !/[a-z]/.test(core) || !/[A-Z]/.test(core) || !/\d/.test(core)) return false;
  const cls = (c: string) => (c >= 'a' && c <= 'z' ? 0 : c >= 'A' && c <= 'Z' ? 1 : 2);
  let switches = 0;
  let uppers = 0;
  let capitals = 0; // upper case letters that start a lower-case run, as in CamelCase words
  for (let i = 0; i < core.length; i++) {
    if (i > 0 && cls(core[i]) !== cls(core[i - 1])) switches++;
    if (cls(core[i]) === 1) {
      uppers++;
      if (cls(core[i + 1] ?? '0') === 0) capitals++;
    }
  }
  return switches / (core.length - 1) >= 0.35 && capitals / uppers < 0.8;
}

/** The forms a secret may be echoed in: as is, URL-encoded (either hex case), and base64 / base64url at each byte alignment. */
export function echoForms(secret: string): string[] {
  const url = encodeURIComponent(secret);
  const forms = new Set([secret, url, url.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())]);
  const bytes = Buffer.from(secret, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    // Inside a longer base64 text (e.g. `user:key` in a Basic header) the secret starts at any of 3 alignments;
    // keep only the characters that encode the secret's own bits.
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const part = b64.slice(Math.ceil((4 * shift) / 3), Math.floor((4 * (shift + bytes.length)) / 3));
    forms.add(part);
    forms.add(part.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms].filter(Boolean);
}

/** The text with whitespace and escaped line breaks (`\n`, `\r`, `\t` as two characters) left out, and where each kept character came from. */
function squeeze(text: string): { view: string; at: number[] } {
  let view = '';
  const at: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) continue;
    if (c === '\\' && 'nrt'.includes(text[i + 1] ?? '_')) {
      i++;
      continue;
    }
    view += c;
    at.push(i);
  }
  return { view, at };
}

/** Replaces the given [start, end) ranges (any order, may overlap or touch) with one REDACTED each after merging. */
function mask(text: string, ranges: [number, number][]): string {
  if (!ranges.length) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  let open: [number, number] | undefined;
  for (const r of ranges) {
    if (open && r[0] <= open[1]) {
      open[1] = Math.max(open[1], r[1]);
      continue;
    }
    if (open) {
      out += text.slice(pos, open[0]) + REDACTED;
      pos = open[1];
    }
    open = [r[0], r[1]];
  }
  out += text.slice(pos, open![0]) + REDACTED;
  return out + text.slice(open![1]);
}

/**
 * Redaction for one set of secrets, compiled once. `secrets()` removes every run of MIN_FRAGMENT characters of a
 * secret or of its encoded forms (even split across lines), growing over the rest of the token it sits in;
 * `all()` also removes credentials after auth markers, key-shaped tokens and long high-entropy tokens. Status
 * codes, error types and the vendor's words stay.
 */
export class Redactor {
  private readonly fragments = new Set<string>();
  private readonly whole: string[] = [];

  constructor(secrets: readonly (string | undefined)[]) {
    for (const s of secrets) {
      if (!s || s.length < MIN_SECRET) continue;
      for (const form of echoForms(s)) {
        if (form.length < MIN_FRAGMENT) this.whole.push(form);
        else for (let i = 0; i + MIN_FRAGMENT <= form.length; i++) this.fragments.add(form.slice(i, i + MIN_FRAGMENT));
      }
    }
    this.whole.sort((a, b) => b.length - a.length);
  }

  /** Only the configured secrets, in any of their forms; nothing is guessed. */
  secrets(text: string): string {
    let out = text;
    for (const w of this.whole) out = out.split(w).join(REDACTED);
    if (!this.fragments.size || out.length < MIN_FRAGMENT) return out;
    const { view, at } = squeeze(out);
    // Mark every character covered by a known fragment, then redact each marked run (as it stands in the original text).
    const marked = new Uint8Array(view.length);
    for (let i = 0; i + MIN_FRAGMENT <= view.length; i++) {
      if (this.fragments.has(view.slice(i, i + MIN_FRAGMENT))) marked.fill(1, i, i + MIN_FRAGMENT);
    }
    const ranges: [number, number][] = [];
    for (let i = 0; i < view.length; i++) {
      if (!marked[i]) continue;
      let end = i;
      while (end < view.length && marked[end]) end++;
      ranges.push(this.grow(out, at[i], at[end - 1] + 1));
      i = end;
    }
    return mask(out, ranges);
  }

  /** The configured secrets, and anything that looks like a credential. */
  all(text: string): string {
    return this.secrets(text)
      .replace(CREDENTIAL_FIELD, (_m, head: string, value: string) => (value === REDACTED ? `${head}${value}` : `${head}${REDACTED}`))
      .replace(AUTH_SCHEME, (_m, scheme: string, gap: string, value: string) => `${scheme}${gap}${value === REDACTED ? value : REDACTED}`)
      .replace(QUERY_KEY, (_m, head: string) => `${head}${REDACTED}`)
      .replace(KEY_PREFIX, (_m, prefix: string) => `${prefix}-${REDACTED}`)
      .replace(JWT, REDACTED)
      .replace(TOKEN, (t) => (looksLikeKey(t) ? REDACTED : t));
  }

  /** Every string in a JSON-like value passed through `secrets()` (for records written to disk). */
  secretsDeep<T>(value: T): T {
    if (typeof value === 'string') return this.secrets(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.secretsDeep(v)) as T;
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.secretsDeep(v)])) as T;
    }
    return value;
  }

  /** Grows [start, end) over the token around it; a sentence's final dot is given back. */
  private grow(text: string, start: number, end: number): [number, number] {
    while (start > 0 && GROW_LEFT.test(text[start - 1])) start--;
    while (end < text.length && GROW_RIGHT.test(text[end])) end++;
    if (text[end - 1] === '.' && text[end - 2] !== '.' && (end === text.length || /[\s"')\]]/.test(text[end]))) end--;
    return [start, end];
  }
}

/** Removes the given secrets (in any echoed form) and anything shaped like a credential from text bound for users or logs. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  return new Redactor(secrets).all(text);
}

/** The server's redaction, for everything the agent lets out: errors, log lines and trajectories. */
@Injectable()
export class SecretRedactor {
  private readonly redactor: Redactor;

  /** `settings`: every secret it holds (model keys, the keys of API_KEYS, tokens) is redacted. */
  constructor(settings: Settings) {
    this.redactor = new Redactor(settings.secretValues());
  }

  /** For error messages and log lines: the configured secrets and anything that looks like a credential. */
  redact(text: string): string {
    return this.redactor.all(text);
  }

  /** For recorded model output (trajectories): the configured secrets only, so ids and the model's words stay intact. */
  redactSecretsDeep<T>(value: T): T {
    return this.redactor.secretsDeep(value);
  }
}
