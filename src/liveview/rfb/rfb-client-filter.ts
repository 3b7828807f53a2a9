/**
 * The client-to-server half of an RFB (VNC, RFC 6143) connection, read message by message so the
 * server, not the VNC server's own flags, decides what a viewer may send to a desktop.
 *
 *   const filter = new RfbClientFilter({ inputAllowed: () => viewerHoldsControl });
 *   vnc.write(filter.push(chunkFromBrowser)); // may be empty; throws RfbProtocolError on bad input
 *
 * `push` returns only whole messages (a partial one waits for the next chunk) and leaves out the
 * input messages — keys, pointer, clipboard, desktop resize and every extension that acts on the
 * desktop — whenever `inputAllowed()` is false at the moment such a message is complete.
 * `dropped` counts what was left out, by kind.
 *
 * What it accepts, and why:
 * - ProtocolVersion `RFB 003.008\n` or `RFB 003.007\n` only. In both the client then names one
 *   security type in one byte; in 3.3 the server picks it and the client sends nothing, which this
 *   filter could not check, and every server we run (TigerVNC) offers 3.8. noVNC answers with the
 *   server's version, so it sends 3.8.
 * - Security type None (1) only: our VNC servers listen on a unix socket only this server reaches,
 *   with SecurityTypes None; any other type means a client we do not know.
 * - ClientInit: the shared flag is forced to 1, so one viewer never disconnects another.
 * - Then the client messages of RFC 6143 and the extensions noVNC 1.7 sends: SetPixelFormat (0),
 *   SetEncodings (2), FramebufferUpdateRequest (3), EnableContinuousUpdates (150) and Fence (248)
 *   are kept; KeyEvent (4), PointerEvent (5), ClientCutText (6, also the extended-clipboard form with
 *   a negative length), xvp (250), SetDesktopSize (251), gii (253) and QEMU messages (255: extended
 *   key events, audio) are input. Any other type, or a length past a cap, is an RfbProtocolError;
 *   the `push` that meets one throws it and forwards nothing of its chunk (the connection is to be
 *   closed), and after it (or after `inputAllowed` threw) every later `push` throws the same error.
 * - SetEncodings loses the ExtendedMouseButtons pseudo-encoding (-316): a server that accepted it
 *   would read PointerEvents as 7 bytes instead of 6, and only the server's reply (which this filter
 *   does not read) would say so. Without it, the filter and the server always agree where every
 *   message ends, so nothing can be smuggled past the filter; the cost is the back and forward
 *   mouse buttons.
 * - SetEncodings also loses the QEMU extended key event pseudo-encoding (-258), so a viewer sends every
 *   key as a plain KeyEvent (a keysym). noVNC sends plain KeyEvents until the server's first update
 *   says it takes the extended ones, then switches: a key pressed just before the switch and released
 *   just after reached TigerVNC as a keysym press and a scancode release, which it does not pair, so it
 *   dropped the release, the key stayed down in the X server, and the next press of that key was
 *   swallowed (a person typing right after taking control lost a letter, about one page in ten).
 *   X0tigervnc maps keysyms either way (its RawKeyboard is off), so nothing is lost by it.
 */

/** A malformed or unsupported client-to-server RFB stream; the connection must be closed. */
export class RfbProtocolError extends Error {
  override readonly name = 'RfbProtocolError';
}

/** The kinds of input message a viewer without control is not allowed to send. */
export type RfbInputKind = 'key' | 'pointer' | 'clipboard' | 'resize' | 'other';

export interface RfbClientFilterOptions {
  /** Asked once per input message, when its last byte has arrived. */
  inputAllowed: () => boolean;
}

/** Largest ClientCutText payload accepted (either form): 1 MiB; TigerVNC ignores over 256 KiB anyway. */
export const RFB_MAX_CUT_TEXT_BYTES = 1024 * 1024;
/** Most encodings in one SetEncodings; noVNC 1.7 sends about 30. */
export const RFB_MAX_ENCODINGS = 1024;
/** Longest Fence payload (the extension's own limit). */
const MAX_FENCE_PAYLOAD = 64;
const EXTENDED_MOUSE_BUTTONS = -316;
const QEMU_EXTENDED_KEY_EVENT = -258;
/** Pseudo-encodings a viewer may not ask for (see the header). */
const REMOVED_ENCODINGS: ReadonlySet<number> = new Set([EXTENDED_MOUSE_BUTTONS, QEMU_EXTENDED_KEY_EVENT]);
const SECURITY_NONE = 1;

type Phase = 'version' | 'security' | 'clientInit' | 'messages';
/** The length of the next message, `undefined` while its header is incomplete. */
type Measure = number | undefined;

/** Which kind of input a message is, or undefined for the messages every viewer may send. */
function inputKind(message: Buffer): RfbInputKind | undefined {
  switch (message[0]) {
    case 4:
      return 'key';
    case 5:
      return 'pointer';
    case 6:
      return 'clipboard';
    case 251:
      return 'resize';
    case 255:
      return message[1] === 0 ? 'key' : 'other'; // QEMU extended key event, or audio
    case 250: // xvp: shut down, reboot, reset
    case 253: // gii: other input devices
      return 'other';
    default:
      return undefined;
  }
}

export class RfbClientFilter {
  private phase: Phase = 'version';
  private readonly queue: Buffer[] = [];
  private queued = 0;
  /** The whole length of the message at the head of the queue, once its header has been read. */
  private nextLength: number | undefined;
  /** Bytes of the stream consumed so far (for error messages). */
  private offset = 0;
  private failure: Error | undefined;
  private readonly droppedByKind: Record<RfbInputKind, number> = { key: 0, pointer: 0, clipboard: 0, resize: 0, other: 0 };

  constructor(private readonly options: RfbClientFilterOptions) {}

  /** True once ClientInit has passed: the handshake is over and normal messages follow. */
  get handshakeDone(): boolean {
    return this.phase === 'messages';
  }

  /** Input messages left out so far, by kind. */
  get dropped(): Readonly<Record<RfbInputKind, number>> & { total: number } {
    const d = this.droppedByKind;
    return { ...d, total: d.key + d.pointer + d.clipboard + d.resize + d.other };
  }

  /** Takes the next bytes from the client; returns the whole messages to send on to the VNC server. */
  push(chunk: Buffer): Buffer {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    const out: Buffer[] = [];
    try {
      for (;;) {
        this.nextLength ??= this.measure();
        if (this.nextLength === undefined || this.queued < this.nextLength) break;
        const message = this.take(this.nextLength);
        this.nextLength = undefined;
        const forwarded = this.judge(message);
        this.offset += message.length;
        if (forwarded) out.push(forwarded);
      }
    } catch (e) {
      this.failure = e instanceof Error ? e : new Error(String(e));
      throw e;
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** How long the message at the head of the queue is, as far as its header tells. */
  private measure(): Measure {
    switch (this.phase) {
      case 'version':
        return 12;
      case 'security':
      case 'clientInit':
        return 1;
      case 'messages':
        return this.measureMessage();
    }
  }

  private measureMessage(): Measure {
    const head = this.peek(1);
    if (!head) return undefined;
    const type = head[0];
    switch (type) {
      case 0: // SetPixelFormat: type, 3 padding, 16-byte pixel format
        return 20;
      case 2: {
        // SetEncodings: type, padding, u16 count, count × s32
        const h = this.peek(4);
        if (!h) return undefined;
        const count = h.readUInt16BE(2);
        if (count > RFB_MAX_ENCODINGS) this.fail(`SetEncodings lists ${count} encodings; at most ${RFB_MAX_ENCODINGS} are accepted`);
        return 4 + 4 * count;
      }
      case 3: // FramebufferUpdateRequest: type, incremental, x, y, w, h
        return 10;
      case 4: // KeyEvent: type, down, 2 padding, keysym
        return 8;
      case 5: // PointerEvent: type, button mask, x, y (never the 7-byte extended form: see the header)
        return 6;
      case 6: {
        // ClientCutText: type, 3 padding, s32 length (negative: extended clipboard of -length bytes), text
        const h = this.peek(8);
        if (!h) return undefined;
        const length = h.readInt32BE(4);
        const size = Math.abs(length);
        if (size > RFB_MAX_CUT_TEXT_BYTES) this.fail(`ClientCutText of ${size} bytes is over the ${RFB_MAX_CUT_TEXT_BYTES}-byte limit`);
        if (length < 0 && size < 4) this.fail(`an extended ClientCutText needs at least its 4 flag bytes, not ${size}`);
        return 8 + size;
      }
      case 150: // EnableContinuousUpdates: type, enable, x, y, w, h
        return 10;
      case 248: {
        // Fence: type, 3 padding, u32 flags, u8 length, payload
        const h = this.peek(9);
        if (!h) return undefined;
        const length = h[8];
        if (length > MAX_FENCE_PAYLOAD) this.fail(`Fence payload of ${length} bytes is over the ${MAX_FENCE_PAYLOAD}-byte limit`);
        return 9 + length;
      }
      case 250: // xvp: type, padding, version, operation
        return 4;
      case 251: {
        // SetDesktopSize: type, padding, w, h, u8 screens, padding, screens × 16 bytes
        const h = this.peek(8);
        if (!h) return undefined;
        return 8 + 16 * h[6];
      }
      case 253: {
        // gii: type, endian flag (bit 7) and sub-type, u16 length in that byte order, payload
        const h = this.peek(4);
        if (!h) return undefined;
        return 4 + (h[1] & 0x80 ? h.readUInt16BE(2) : h.readUInt16LE(2));
      }
      case 255:
        return this.measureQemu();
      default:
        return this.fail(`unknown client message type ${type}`);
    }
  }

  /** QEMU client messages: sub-type 0 is an extended key event, 1 is audio (enable, disable, set format). */
  private measureQemu(): Measure {
    const h = this.peek(2);
    if (!h) return undefined;
    if (h[1] === 0) return 12; // type, sub-type, u16 down, u32 keysym, u32 keycode
    if (h[1] !== 1) return this.fail(`unknown QEMU client message sub-type ${h[1]}`);
    const a = this.peek(4);
    if (!a) return undefined;
    const operation = a.readUInt16BE(2);
    if (operation === 0 || operation === 1) return 4;
    if (operation === 2) return 10; // + u8 sample format, u8 channels, u32 frequency
    return this.fail(`unknown QEMU audio operation ${operation}`);
  }

  /** What to send on for one whole message: the message, a changed copy, or nothing. */
  private judge(message: Buffer): Buffer | undefined {
    switch (this.phase) {
      case 'version': {
        const text = message.toString('latin1');
        if (text !== 'RFB 003.008\n' && text !== 'RFB 003.007\n') {
          this.fail(`ProtocolVersion ${JSON.stringify(text)} is not accepted; only "RFB 003.008\\n" or "RFB 003.007\\n"`);
        }
        this.phase = 'security';
        return message;
      }
      case 'security':
        if (message[0] !== SECURITY_NONE) this.fail(`security type ${message[0]} is not accepted; only None (1)`);
        this.phase = 'clientInit';
        return message;
      case 'clientInit':
        this.phase = 'messages';
        return Buffer.from([1]); // shared: never make the server disconnect other viewers
      case 'messages': {
        const kind = inputKind(message);
        if (kind !== undefined && !this.options.inputAllowed()) {
          this.droppedByKind[kind]++;
          return undefined;
        }
        return message[0] === 2 ? withoutRemovedEncodings(message) : message;
      }
    }
  }

  /** The first `n` queued bytes without taking them, or undefined if fewer are queued. */
  private peek(n: number): Buffer | undefined {
    if (this.queued < n) return undefined;
    if (this.queue[0].length < n) this.coalesce(n);
    return this.queue[0];
  }

  /** Takes exactly `n` bytes (`n <= queued`) from the head of the queue. */
  private take(n: number): Buffer {
    if (this.queue[0].length < n) this.coalesce(n);
    const head = this.queue[0];
    const message = head.length === n ? head : head.subarray(0, n);
    if (head.length === n) this.queue.shift();
    else this.queue[0] = head.subarray(n);
    this.queued -= n;
    return message;
  }

  /** Joins queued chunks until the first one holds at least `n` bytes. */
  private coalesce(n: number): void {
    let count = 0;
    let size = 0;
    while (size < n) size += this.queue[count++].length;
    this.queue.splice(0, count, Buffer.concat(this.queue.slice(0, count), size));
  }

  private fail(what: string): never {
    throw new RfbProtocolError(`RFB client error at byte ${this.offset}: ${what}.`);
  }
}

/** A SetEncodings message without the removed pseudo-encodings (the same buffer if it had none). */
function withoutRemovedEncodings(message: Buffer): Buffer {
  const count = message.readUInt16BE(2);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) {
    const encoding = message.readInt32BE(4 + 4 * i);
    if (!REMOVED_ENCODINGS.has(encoding)) kept.push(encoding);
  }
  if (kept.length === count) return message;
  const out = Buffer.alloc(4 + 4 * kept.length);
  out[0] = 2;
  out.writeUInt16BE(kept.length, 2);
  kept.forEach((encoding, i) => out.writeInt32BE(encoding, 4 + 4 * i));
  return out;
}
