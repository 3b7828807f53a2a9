/**
 * A reader for the Python call expressions GUI-agent models write as their actions, e.g.
 * `click(point='<point>10 20</point>')` or `pyautogui.hotkey('ctrl', 'c')`: literals only (numbers,
 * strings, lists, tuples, True/False/None), never evaluated. Anything else is a PythonSyntaxError
 * saying where and what, for the model to read.
 */

export type PyValue = number | string | boolean | null | PyValue[];

export interface PyCall {
  /** The dotted name, e.g. `pyautogui.click`. */
  name: string;
  args: PyValue[];
  kwargs: Record<string, PyValue>;
  /** The call as written. */
  source: string;
}

export class PythonSyntaxError extends Error {
  override readonly name = 'PythonSyntaxError';
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

class Reader {
  pos = 0;
  constructor(readonly src: string) {}

  private fail(what: string): never {
    const near = this.src.slice(this.pos, this.pos + 30);
    throw new PythonSyntaxError(`${what} at character ${this.pos + 1}${near ? ` (near "${near}")` : ' (at the end)'}`);
  }

  /** Spaces and tabs; with `lines`, newlines too. */
  skip(lines = true) {
    const re = lines ? /[ \t\r\n]/ : /[ \t]/;
    while (this.pos < this.src.length && re.test(this.src[this.pos])) this.pos++;
  }

  get done() {
    return this.pos >= this.src.length;
  }

  peek() {
    return this.src[this.pos];
  }

  eat(ch: string) {
    this.skip();
    if (this.src[this.pos] !== ch) this.fail(`expected "${ch}"`);
    this.pos++;
  }

  name(): string {
    this.skip();
    const m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(this.src.slice(this.pos));
    if (!m) this.fail('expected a function name');
    this.pos += m[0].length;
    return m[0];
  }

  value(): PyValue {
    this.skip();
    const ch = this.peek();
    if (ch === "'" || ch === '"') return this.string();
    if (ch === '[' || ch === '(') return this.sequence(ch === '[' ? ']' : ')');
    const num = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(this.src.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return Number(num[0]);
    }
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.src.startsWith(word, this.pos) && !/[A-Za-z0-9_]/.test(this.src[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail('expected a number, a quoted text, a list, True, False or None');
  }

  private string(): string {
    const quote = this.src[this.pos];
    const triple = this.src.startsWith(quote.repeat(3), this.pos);
    const end = triple ? quote.repeat(3) : quote;
    this.pos += end.length;
    let out = '';
    while (!this.src.startsWith(end, this.pos)) {
      if (this.done) this.fail('a text that is never closed');
      const c = this.src[this.pos++];
      if (c === '\n' && !triple) this.fail('a line break inside a quoted text (write \\n)');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.src[this.pos++];
      if (e === 'u' && /^[0-9a-fA-F]{4}/.test(this.src.slice(this.pos))) {
        out += String.fromCharCode(parseInt(this.src.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else if (e !== undefined && e in ESCAPES) out += ESCAPES[e];
      else if (e === '\n') continue;
      else out += `\\${e ?? ''}`; // Python keeps an unknown escape as written
    }
    this.pos += end.length;
    return out;
  }

  private sequence(close: string): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skip();
      if (this.peek() === close) break;
      items.push(this.value());
      this.skip();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== close) this.fail(`expected "," or "${close}"`);
    }
    this.pos++;
    return items;
  }

  call(): PyCall {
    this.skip();
    const start = this.pos;
    const name = this.name();
    this.eat('(');
    const args: PyValue[] = [];
    const kwargs: Record<string, PyValue> = {};
    for (;;) {
      this.skip();
      if (this.peek() === ')') break;
      const kw = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)/.exec(this.src.slice(this.pos));
      if (kw) {
        this.pos += kw[0].length;
        if (kw[1] in kwargs) this.fail(`"${kw[1]}" given twice`);
        kwargs[kw[1]] = this.value();
      } else {
        if (Object.keys(kwargs).length) this.fail('a positional argument after a named one');
        args.push(this.value());
      }
      this.skip();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== ')') this.fail('expected "," or ")"');
    }
    this.pos++;
    return { name, args, kwargs, source: this.src.slice(start, this.pos) };
  }
}

/** Exactly one call, nothing around it but spaces. */
export function parseCall(src: string): PyCall {
  const r = new Reader(src);
  const call = r.call();
  r.skip();
  if (!r.done) throw new PythonSyntaxError(`unexpected text after ${call.name}(...): "${src.slice(r.pos, r.pos + 30)}"`);
  return call;
}

/**
 * One call after another, each on its own line (or separated by ";" or blank lines), e.g. a code block.
 * Empty lines and `#` comments are skipped.
 */
export function parseCalls(src: string): PyCall[] {
  const code = src
    .split('\n')
    .filter((l) => !/^\s*(#.*)?$/.test(l))
    .join('\n');
  const r = new Reader(code);
  const calls: PyCall[] = [];
  for (;;) {
    r.skip();
    if (r.done) return calls;
    calls.push(r.call());
    r.skip(false);
    if (r.peek() === '#') while (!r.done && r.peek() !== '\n') r.pos++;
    if (r.peek() === ';') r.pos++;
    else if (!r.done && r.peek() !== '\n') throw new PythonSyntaxError(`expected a new line after ${calls.at(-1)?.name}(...), found "${code.slice(r.pos, r.pos + 30)}"`);
  }
}
