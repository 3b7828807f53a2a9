import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import sharp from 'sharp';
import { createWebSocketStream, WebSocket } from 'ws';
import { sleep } from '../../common/async';
import { abortReason, DomainError, DomainErrorCode } from '../../common/domain-error';
import { CUA_HEADERS, CUA_MAX_MESSAGE_BYTES, CUA_PATHS, CUA_VNC_FEATURE, cuaKeyOfKeysym, CuaParams } from '../../cua-protocol';
import { CommandOptions, CommandResult, Computer, Frame, LaunchResult, MouseButton, OptionalOperation, Point, SettleOptions, SettleResult, Size } from '../computer.port';
import { CuaClient } from './cua-client';
import { CuaEndpoint, wsUrlOf } from './cua-urls';
import { CuaError, cuaError, CuaFields, cuaKindOf } from './cua-errors';

export type { CuaEndpoint } from './cua-urls';

export interface CuaConnectOptions {
  /** Time limit of one request (connecting and each command), in ms. */
  requestTimeoutMs: number;
  signal?: AbortSignal;
  /** Id for logs and stats; default `cua-<random>`. */
  id?: string;
  /** Provider name reported by the computer; default `cua`. */
  provider?: string;
  /** Default time limit of runCommand; default 30 s. */
  commandTimeoutMs?: number;
  /** stdout/stderr kept per command; default 1 MiB. */
  commandOutputLimitBytes?: number;
  /** settle(): the fixed wait after an action; default DEFAULT_SETTLE_DELAY_MS (CUA_SETTLE_DELAY_MS). */
  settleDelayMs?: number;
}

/** What feature detection found out about a server. */
export interface CuaServerInfo {
  transport: 'ws' | 'http';
  /** From `version`; undefined on servers without it. */
  protocol?: number;
  package?: string;
  /** Command names from `GET /commands`; undefined on older servers (404). */
  commands?: string[];
}

/**
 * The protocol has no change signal (no event when the remote screen changes, no command that
 * waits for it), so settle() waits this long after an action: several times what our own desktops
 * take to show an action's effect (a terminal or a menu redraws 1–31 ms after the input, a new
 * window appears within about 120 ms, measured on 2 busy cores), and a quarter of the fixed 2 s
 * that reference computer-use loops wait.
 */
export const DEFAULT_SETTLE_DELAY_MS = 500;
/** Extra time a run_command request gets beyond the command's own limit, for the round trip. */
const COMMAND_GRACE_MS = 5_000;

/**
 * The cua names of a chord of our key names (as parseKeyCombo returns them); every key is
 * checked before anything is sent. Keys the protocol has no name for are COMPUTER_UNSUPPORTED.
 */
function cuaKeyNames(keys: readonly string[]): string[] {
  return keys.map((name) => {
    const cua = cuaKeyOfKeysym(name);
    if (cua !== undefined) return cua;
    throw new DomainError(
      DomainErrorCode.COMPUTER_UNSUPPORTED,
      `The key "${name}" has no name in the cua protocol, so a remote computer cannot press it. Use letters, digits, punctuation, ` +
        'modifiers (ctrl, shift, alt, super), Return, Tab, Escape, arrows, Home/End/Page_Up/Page_Down, Delete, BackSpace or F1–F24.',
    );
  });
}

/** Parameter names per command from a `GET /commands` listing (array or object form). */
function parseListing(value: unknown): Map<string, Set<string>> | undefined {
  const raw = (value as { commands?: unknown } | undefined)?.commands;
  const out = new Map<string, Set<string>>();
  const paramsOf = (p: unknown): Set<string> => {
    if (Array.isArray(p)) return new Set(p.map((x) => (typeof x === 'string' ? x : (x as { name?: unknown })?.name)).filter((n): n is string => typeof n === 'string'));
    if (p && typeof p === 'object') return new Set(Object.keys(p));
    return new Set();
  };
  if (Array.isArray(raw)) {
    for (const c of raw) {
      const name = typeof c === 'string' ? c : (c as { name?: unknown })?.name;
      if (typeof name === 'string') out.set(name, paramsOf((c as { params?: unknown })?.params));
    }
  } else if (raw && typeof raw === 'object') {
    for (const [name, c] of Object.entries(raw)) out.set(name, paramsOf((c as { params?: unknown })?.params));
  } else {
    return undefined;
  }
  return out;
}

function imageMimeType(data: Buffer): string | undefined {
  if (data.length > 8 && data.readUInt32BE(0) === 0x89504e47) return 'image/png';
  if (data.length > 3 && data[0] === 0xff && data[1] === 0xd8) return 'image/jpeg';
  return undefined;
}

function asNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Cuts a string to `limit` UTF-8 bytes (at a character boundary). */
function cut(text: string, limit: number): { text: string; cut: boolean } {
  if (Buffer.byteLength(text) <= limit) return { text, cut: false };
  return { text: Buffer.from(text).subarray(0, limit).toString('utf8').replace(/\uFFFD$/, ''), cut: true };
}

/**
 * A remote computer: a cua computer-server (trycua containers and VMs, or this project's own
 * `computer-server` mode) driven over its protocol — WebSocket `/ws`, `POST /cmd` as the fallback.
 * connect() opens the connection and detects what the server offers (`version`, `GET /commands`);
 * close() closes only the connection — the remote desktop stays as it is (resetting it between
 * sessions is the provider's job).
 */
export class CuaComputer extends Computer {
  readonly id: string;
  readonly provider: string;
  private size: Size = { width: 0, height: 0 };
  private closed = false;
  private commands?: Map<string, Set<string>>;
  private protocol?: number;
  private packageVersion?: string;
  /** Whether the server offers `WS /vnc` (its /status lists the feature; this project's own servers do, on desktops with a VNC server). */
  private vnc = false;
  /** Whether drag takes `path`: known from /commands, or learnt from the first try on older servers. */
  private dragPath?: boolean;
  private readonly commandTimeoutMs: number;
  private readonly outputLimit: number;
  private readonly requestTimeoutMs: number;
  private readonly settleDelayMs: number;

  private constructor(
    readonly endpoint: CuaEndpoint,
    private readonly client: CuaClient,
    options: CuaConnectOptions,
  ) {
    super();
    this.id = options.id ?? `cua-${randomUUID().slice(0, 8)}`;
    this.provider = options.provider ?? 'cua';
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
    this.outputLimit = options.commandOutputLimitBytes ?? 1_048_576;
    this.settleDelayMs = options.settleDelayMs ?? DEFAULT_SETTLE_DELAY_MS;
  }

  /** Connects, detects the server's features and reads the screen size; the connection is closed again if any step fails. */
  static async connect(endpoint: CuaEndpoint, options: CuaConnectOptions): Promise<CuaComputer> {
    const client = new CuaClient(endpoint, { requestTimeoutMs: options.requestTimeoutMs });
    const computer = new CuaComputer(endpoint, client, options);
    try {
      await client.start(options.signal);
      await computer.detect(options.signal);
      return computer;
    } catch (e) {
      client.close();
      if (options.signal?.aborted) throw abortReason(options.signal, `Connecting to ${client.host}`);
      throw e;
    }
  }

  private async detect(signal?: AbortSignal) {
    try {
      const v = await this.client.request('version', undefined, { signal });
      this.protocol = asNumber(v.protocol);
      this.packageVersion = typeof v.package === 'string' ? v.package : undefined;
    } catch (e) {
      // Servers before `version` answer "Unknown command"; anything else is a real failure.
      if (cuaKindOf(e) !== 'remote') throw e;
    }
    this.commands = parseListing(await this.client.http.getJson(CUA_PATHS.commands, { timeoutMs: this.requestTimeoutMs, signal }));
    const status = (await this.client.http.getJson(CUA_PATHS.status, { timeoutMs: this.requestTimeoutMs, signal }).catch(() => undefined)) as { features?: unknown } | undefined;
    this.vnc = Array.isArray(status?.features) && status.features.includes(CUA_VNC_FEATURE);
    if (this.commands) this.dragPath = this.commands.get('drag')?.has('path') ?? false;
    await this.readScreenSize(signal);
  }

  override supports(operation: OptionalOperation): boolean {
    if (operation === 'openVnc') return this.vnc;
    return super.supports(operation);
  }

  /** The desktop's RFB stream over the server's `WS /vnc`, authenticated like every request. */
  override async openVnc(signal?: AbortSignal): Promise<Duplex> {
    if (!this.vnc) return super.openVnc(signal);
    if (this.closed) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Computer ${this.id} was closed.`);
    const headers: Record<string, string> = {};
    if (this.endpoint.apiKey !== undefined) headers[CUA_HEADERS.apiKey] = this.endpoint.apiKey;
    if (this.endpoint.containerName !== undefined) headers[CUA_HEADERS.containerName] = this.endpoint.containerName;
    const ws = new WebSocket(wsUrlOf(this.endpoint.url, CUA_PATHS.vnc), { headers, handshakeTimeout: this.requestTimeoutMs, perMessageDeflate: false, maxPayload: CUA_MAX_MESSAGE_BYTES });
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        signal?.removeEventListener('abort', onAbort);
        ws.on('error', () => undefined);
        ws.terminate();
        reject(new DomainError(DomainErrorCode.COMPUTER_FAILED, `${this.host} refused its VNC stream: ${e.message}`, { cause: e }));
      };
      const onAbort = () => fail(abortReason(signal!, 'Opening the VNC stream'));
      ws.once('open', () => {
        signal?.removeEventListener('abort', onAbort);
        ws.removeAllListeners('error');
        ws.removeAllListeners('unexpected-response');
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        fail(new Error(`HTTP ${res.statusCode ?? 0}`));
      });
      ws.once('error', fail);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return createWebSocketStream(ws);
  }

  /** What the server is and offers. */
  get info(): CuaServerInfo {
    return { transport: this.client.transport, protocol: this.protocol, package: this.packageVersion, commands: this.commands ? [...this.commands.keys()] : undefined };
  }

  get host(): string {
    return this.client.host;
  }

  /**
   * True when the server lists `command` (older servers without /commands: the classic set, which
   * has neither the newer scroll_direction and version nor this project's own triple_click).
   */
  offers(command: string, param?: string): boolean {
    if (!this.commands) return param === undefined && !['scroll_direction', 'version', 'triple_click'].includes(command);
    const params = this.commands.get(command);
    return params !== undefined && (param === undefined || params.has(param));
  }

  /**
   * Sends one protocol command and returns its reply's fields. `success: false` becomes a
   * COMPUTER_FAILED DomainError naming the command and the server's message.
   */
  async request(command: string, params?: CuaParams, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CuaFields> {
    if (this.closed) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Computer ${this.id} was closed. Start a new session to get a new computer.`);
    return this.client.request(command, params, options);
  }

  private async readScreenSize(signal?: AbortSignal): Promise<Size> {
    const r = await this.request('get_screen_size', undefined, { signal });
    const s = r.size as { width?: unknown; height?: unknown } | undefined;
    const width = asNumber(s?.width);
    const height = asNumber(s?.height);
    if (!width || !height || width < 1 || height < 1) {
      throw cuaError('protocol', `${this.host} answered get_screen_size without a usable size: ${JSON.stringify(r).slice(0, 200)}`);
    }
    this.size = { width: Math.round(width), height: Math.round(height) };
    return { ...this.size };
  }

  // Input arrives checked (CheckedComputer): points on the screen, known keys, sane amounts. What
  // is the protocol's own (a name for every key) is checked here, before anything is sent.
  private keys(keys: readonly string[]): string[] {
    return cuaKeyNames(keys);
  }

  async screenSize(): Promise<Size> {
    if (this.closed) await this.request('get_screen_size'); // throws the closed error
    return { ...this.size };
  }

  async capture(signal?: AbortSignal): Promise<Frame> {
    const r = await this.request('screenshot', this.offers('screenshot', 'format') ? { format: 'png' } : undefined, { signal });
    if (typeof r.image_data !== 'string' || !r.image_data) {
      throw cuaError('protocol', `${this.host} answered screenshot without image_data.`);
    }
    const data = Buffer.from(r.image_data, 'base64');
    const mimeType = imageMimeType(data);
    let meta: sharp.Metadata | undefined;
    try {
      meta = mimeType ? await sharp(data).metadata() : undefined;
    } catch {
      meta = undefined;
    }
    if (!mimeType || !meta?.width || !meta.height) {
      throw cuaError('protocol', `${this.host} sent a screenshot that is not a readable PNG or JPEG image.`);
    }
    // The screen may have been resized on the server: its screenshots say how big it is now.
    this.size = { width: meta.width, height: meta.height };
    return { kind: 'encoded', width: meta.width, height: meta.height, mimeType, data };
  }

  /**
   * A fixed wait (settleDelayMs, at most maxMs): the protocol cannot say when the remote screen
   * changed, so `changed` stays unknown and the cap is never reported as hit.
   */
  override async settle(options: SettleOptions): Promise<SettleResult> {
    if (this.closed) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Computer ${this.id} was closed. Start a new session to get a new computer.`);
    const ms = Math.max(0, Math.min(this.settleDelayMs, options.maxMs));
    const start = performance.now();
    await sleep(ms, options.signal);
    return { waitedMs: Math.round(performance.now() - start), hitCap: false };
  }

  async moveMouse(p: Point): Promise<void> {
    await this.request('move_cursor', { x: p.x, y: p.y });
  }

  async click(p: Point, b: MouseButton, count: number): Promise<void> {
    if (b === 'middle') {
      // The protocol has no middle_click: press and release the middle button at the point.
      for (let i = 0; i < count; i++) {
        await this.request('mouse_down', { x: p.x, y: p.y, button: 'middle' });
        await this.request('mouse_up', { x: p.x, y: p.y, button: 'middle' });
      }
      return;
    }
    if (b === 'right') {
      for (let i = 0; i < count; i++) await this.request('right_click', { x: p.x, y: p.y });
      return;
    }
    if (count === 1) {
      await this.request('left_click', { x: p.x, y: p.y });
      return;
    }
    if (count === 3 && this.offers('triple_click')) {
      // A server that lists triple_click (this project's computer-server) gets it as one action.
      await this.request('triple_click', { x: p.x, y: p.y });
      return;
    }
    await this.request('double_click', { x: p.x, y: p.y });
    if (count === 3) {
      // Upstream servers have no triple click: a third press and release right after the double
      // click makes one (a third left_click would not: servers may keep separate clicks apart in
      // time). These are requests of their own, so on a slow link or a loaded server the third
      // press can come past the desktop's multi-click time and read as a click of its own.
      await this.request('mouse_down', { x: p.x, y: p.y, button: 'left' });
      await this.request('mouse_up', { x: p.x, y: p.y, button: 'left' });
    }
  }

  async mouseDown(button: MouseButton): Promise<void> {
    await this.request('mouse_down', { button });
  }

  async mouseUp(button: MouseButton): Promise<void> {
    await this.request('mouse_up', { button });
  }

  async drag(points: Point[], b: MouseButton): Promise<void> {
    if (this.dragPath !== false) {
      try {
        await this.request('drag', { path: points.map((p) => [p.x, p.y]), button: b });
        this.dragPath = true;
        return;
      } catch (e) {
        // An older server rejects `path` (it wants start_x … end_y) before moving anything; learn that once.
        if (this.dragPath === true || cuaKindOf(e) !== 'remote') throw e;
        this.dragPath = false;
      }
    }
    if (points.length === 2) {
      const [from, to] = points;
      await this.request('drag', { start_x: from.x, start_y: from.y, end_x: to.x, end_y: to.y, button: b });
      return;
    }
    // The older form has no path: press, move through the points, release.
    await this.request('move_cursor', { x: points[0].x, y: points[0].y });
    await this.request('mouse_down', { button: b });
    try {
      for (const p of points.slice(1)) await this.request('move_cursor', { x: p.x, y: p.y });
    } finally {
      await this.request('mouse_up', { button: b });
    }
  }

  async scroll(p: Point, dx: number, dy: number): Promise<void> {
    await this.request('move_cursor', { x: p.x, y: p.y });
    if (this.offers('scroll_direction')) {
      if (dy) await this.request('scroll_direction', { direction: dy > 0 ? 'down' : 'up', clicks: Math.abs(dy) });
      if (dx) await this.request('scroll_direction', { direction: dx > 0 ? 'right' : 'left', clicks: Math.abs(dx) });
      return;
    }
    // Older servers: scroll_up / scroll_down for vertical wheel clicks, scroll(x, y) amounts for horizontal.
    if (dy) await this.request(dy > 0 ? 'scroll_down' : 'scroll_up', { clicks: Math.abs(dy) });
    if (dx) await this.request('scroll', { x: dx, y: 0 });
  }

  async typeText(text: string): Promise<void> {
    if (!text) return;
    await this.request('type_text', { text });
  }

  async pressKeys(keys: readonly string[]): Promise<void> {
    const k = this.keys(keys);
    if (k.length === 1) await this.request('press_key', { key: k[0] });
    else await this.request('hotkey', { keys: k });
  }

  async setKeys(keys: readonly string[], down: boolean): Promise<void> {
    const k = this.keys(keys);
    for (const key of down ? k : [...k].reverse()) await this.request(down ? 'key_down' : 'key_up', { key });
  }

  async holdKeys(keys: readonly string[], durationMs: number, signal?: AbortSignal): Promise<void> {
    const k = this.keys(keys);
    const pressed: string[] = [];
    try {
      for (const key of k) {
        await this.request('key_down', { key }, { signal });
        pressed.push(key);
      }
      await sleep(durationMs, signal);
    } finally {
      // Released even when the hold is cancelled (without the signal, so the release is sent).
      for (const key of pressed.reverse()) await this.request('key_up', { key });
    }
  }

  async cursorPosition(): Promise<Point> {
    const r = await this.request('get_cursor_position');
    const pos = r.position as { x?: unknown; y?: unknown } | undefined;
    const x = asNumber(pos?.x);
    const y = asNumber(pos?.y);
    if (x === undefined || y === undefined) {
      throw cuaError('protocol', `${this.host} answered get_cursor_position without a position.`);
    }
    return { x: Math.round(x), y: Math.round(y) };
  }

  /**
   * run_command with the command's time limit sent as `timeout` (seconds) where the server takes
   * it; the request itself may take that long plus a grace period. When no reply comes in time
   * the result says timedOut and the connection is discarded; the server may not have stopped
   * the command (older servers have no timeout of their own).
   */
  /** The desktop's clipboard, through the server's `set_clipboard` where it offers one. */
  override async setClipboard(text: string): Promise<void> {
    if (!this.offers('set_clipboard')) {
      throw new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `${this.host} does not offer set_clipboard.`);
    }
    await this.request('set_clipboard', { text });
  }

  /**
   * A command in the background, through the server's `launch` (as `/bin/sh -c command`, so it is
   * written as for runCommand). Servers that do not offer launch get COMPUTER_UNSUPPORTED.
   */
  override async launch(command: string): Promise<LaunchResult> {
    if (!this.offers('launch')) {
      throw new DomainError(DomainErrorCode.COMPUTER_UNSUPPORTED, `${this.host} does not offer launch (an older or another kind of cua server); run the command without background.`);
    }
    const r = await this.request('launch', { app: '/bin/sh', args: ['-c', command] });
    const pid = asNumber(r.pid);
    return pid === undefined ? {} : { pid };
  }

  async runCommand(command: string, options: CommandOptions = {}): Promise<CommandResult> {
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    const params: CuaParams = { command };
    if (this.offers('run_command', 'timeout')) params.timeout = timeoutMs / 1000;
    let r: CuaFields;
    try {
      r = await this.request('run_command', params, { timeoutMs: timeoutMs + COMMAND_GRACE_MS, signal: options.signal });
    } catch (e) {
      if (cuaKindOf(e) === 'timeout') {
        return { stdout: '', stderr: `No reply from ${this.host} within ${timeoutMs + COMMAND_GRACE_MS} ms; the command may still be running there.\n`, exitCode: null, timedOut: true, truncated: false };
      }
      // A server that enforces the timeout itself answers success:false saying so (ours: "did not finish within … and was stopped").
      const remote = e instanceof CuaError ? e.remoteError : undefined;
      if (cuaKindOf(e) === 'remote' && typeof remote === 'string' && /did not finish within|timed out/i.test(remote)) {
        return { stdout: '', stderr: `${remote}\n`, exitCode: null, timedOut: true, truncated: false };
      }
      throw e;
    }
    const out = cut(typeof r.stdout === 'string' ? r.stdout : '', this.outputLimit);
    const err = cut(typeof r.stderr === 'string' ? r.stderr : '', this.outputLimit);
    const code = asNumber(r.return_code);
    const timedOut = r.timed_out === true || r.timedOut === true;
    return {
      stdout: out.text,
      stderr: err.text,
      exitCode: timedOut || code === undefined ? null : code,
      timedOut,
      truncated: out.cut || err.cut || r.truncated === true,
    };
  }

  async isAlive(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.readScreenSize();
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the connection only; the remote desktop is left as it is. Safe to call more than once. */
  async close(): Promise<void> {
    this.closed = true;
    this.client.close();
  }
}
