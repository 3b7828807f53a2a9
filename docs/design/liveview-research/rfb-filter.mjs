// Prototype of the bridge's client→server RFB parser (RFC 6143 §7.1–7.5 + rfbproto extensions).
// Splits the stream into whole messages; `allow(msg)` decides per message; unknown types end the connection.
export const NAMES = { 0: 'SetPixelFormat', 2: 'SetEncodings', 3: 'FramebufferUpdateRequest', 4: 'KeyEvent', 5: 'PointerEvent', 6: 'ClientCutText', 150: 'EnableContinuousUpdates', 248: 'ClientFence', 250: 'xvp', 251: 'SetDesktopSize', 253: 'gii', 255: 'QEMU' };
export const INPUT = new Set([4, 5, 6, 250, 251, 253, 255]);
const MAX_CUT = 1 << 20;

/** Length of the message at the start of `b`, or 0 when more bytes are needed; throws on what the server would not understand. */
export function messageLength(b) {
  if (b.length < 1) return 0;
  const need = (n) => (b.length >= n ? n : 0);
  switch (b[0]) {
    case 0: return need(20);
    case 2: return b.length < 4 ? 0 : need(4 + 4 * b.readUInt16BE(2));
    case 3: return need(10);
    case 4: return need(8);
    case 5: return need(6); // TigerVNC 1.12 has no ExtendedMouseButtons: always 6 (strip -316 from SetEncodings to keep it so)
    case 6: { if (b.length < 8) return 0; const n = Math.abs(b.readInt32BE(4)); if (n > MAX_CUT) throw new Error(`ClientCutText of ${n} bytes`); return need(8 + n); }
    case 150: return need(10);
    case 248: { if (b.length < 9) return 0; if (b[8] > 64) throw new Error('fence payload > 64'); return need(9 + b[8]); }
    case 250: return need(4);
    case 251: return b.length < 8 ? 0 : need(8 + 16 * b[6]);
    case 253: { if (b.length < 4) return 0; const len = b[1] & 0x80 ? b.readUInt16BE(2) : b.readUInt16LE(2); return need(4 + len); }
    case 255: { if (b.length < 2) return 0; if (b[1] === 0) return need(12); if (b[1] === 1) { if (b.length < 4) return 0; return need(b.readUInt16BE(2) === 2 ? 10 : 4); } throw new Error(`QEMU sub-type ${b[1]}`); }
    default: throw new Error(`unknown client message type ${b[0]}`);
  }
}

/** Handshake (security None only): version (12), security type (1, must be 1), ClientInit (1, forced shared). */
export class ClientStream {
  constructor({ allow, onMessage }) { this.buf = Buffer.alloc(0); this.phase = 'version'; this.allow = allow; this.onMessage = onMessage; }
  /** Returns the bytes to forward to the VNC server. */
  push(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out = [];
    for (;;) {
      if (this.phase === 'version') {
        if (this.buf.length < 12) break;
        const v = this.buf.subarray(0, 12).toString('latin1');
        if (!/^RFB 003\.00[378]\n$/.test(v)) throw new Error(`bad version ${JSON.stringify(v)}`);
        out.push(this.buf.subarray(0, 12)); this.buf = this.buf.subarray(12); this.phase = v === 'RFB 003.003\n' ? 'init' : 'security';
      } else if (this.phase === 'security') {
        if (this.buf.length < 1) break;
        if (this.buf[0] !== 1) throw new Error(`security type ${this.buf[0]}`);
        out.push(this.buf.subarray(0, 1)); this.buf = this.buf.subarray(1); this.phase = 'init';
      } else if (this.phase === 'init') {
        if (this.buf.length < 1) break;
        out.push(Buffer.from([1])); this.buf = this.buf.subarray(1); this.phase = 'normal';
      } else {
        const n = messageLength(this.buf);
        if (!n) break;
        const msg = this.buf.subarray(0, n); this.buf = this.buf.subarray(n);
        this.onMessage?.(msg);
        if (this.allow(msg)) out.push(msg);
      }
    }
    return Buffer.concat(out);
  }
}
