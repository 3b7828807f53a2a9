import { RFB_MAX_CUT_TEXT_BYTES, RfbClientFilter, RfbInputKind, RfbProtocolError } from './rfb-client-filter';

/** Bytes from hex, spaces ignored. */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cat = (...parts: Buffer[]) => Buffer.concat(parts);

// The client's side of the handshake, as noVNC 1.7 sends it to a 3.8 server offering None.
const VERSION = Buffer.from('RFB 003.008\n', 'latin1');
const SECURITY_NONE = hex('01');
const CLIENT_INIT_EXCLUSIVE = hex('00');
const CLIENT_INIT_SHARED = hex('01');
const HANDSHAKE_IN = cat(VERSION, SECURITY_NONE, CLIENT_INIT_EXCLUSIVE);
const HANDSHAKE_OUT = cat(VERSION, SECURITY_NONE, CLIENT_INIT_SHARED);

function setEncodings(...encodings: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * encodings.length);
  b[0] = 2;
  b.writeUInt16BE(encodings.length, 2);
  encodings.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
  return b;
}

/** One message of every kind, laid out byte by byte as RFC 6143 and the extensions define them. */
const KEPT = {
  setPixelFormat: hex('00 000000  20 18 00 01  00ff 00ff 00ff  00 08 10  000000'),
  setEncodings: setEncodings(7, 1, 0, -223, -308, -312, -313, 0xc0a1e5ce | 0),
  framebufferUpdateRequest: hex('03 01 0000 0000 0280 01e0'),
  enableContinuousUpdates: hex('96 01 0000 0000 0280 01e0'),
  fence: hex('f8 000000 80000003 02 6869'),
  fenceEmpty: hex('f8 000000 00000001 00'),
};
const INPUT: Record<string, { bytes: Buffer; kind: RfbInputKind }> = {
  keyEvent: { bytes: hex('04 01 0000 00000061'), kind: 'key' },
  pointerEvent: { bytes: hex('05 01 0064 0032'), kind: 'pointer' },
  clientCutText: { bytes: cat(hex('06 000000 00000005'), Buffer.from('hello')), kind: 'clipboard' },
  clientCutTextEmpty: { bytes: hex('06 000000 00000000'), kind: 'clipboard' },
  // Extended clipboard: length -8 → 8 bytes (flags, then a zlib stream in a real Provide).
  extendedClipboard: { bytes: hex('06 000000 fffffff8  10000001 78 9c 03 00'), kind: 'clipboard' },
  xvp: { bytes: hex('fa 00 01 04'), kind: 'other' },
  setDesktopSize: { bytes: hex('fb 00 0400 0300 01 00  00000000 0000 0000 0400 0300 00000000'), kind: 'resize' },
  setDesktopSizeTwoScreens: { bytes: cat(hex('fb 00 0800 0300 02 00'), Buffer.alloc(32, 7)), kind: 'resize' },
  giiBigEndian: { bytes: hex('fd 81 0004 01020304'), kind: 'other' },
  giiLittleEndian: { bytes: hex('fd 01 0300 aabbcc'), kind: 'other' },
  qemuExtendedKey: { bytes: hex('ff 00 0001 00000061 0000001e'), kind: 'key' },
  qemuAudioEnable: { bytes: hex('ff 01 0000'), kind: 'other' },
  qemuAudioSetFormat: { bytes: hex('ff 01 0002 03 02 0000ac44'), kind: 'other' },
};

/** A whole session: the handshake, then every message, kept and input interleaved. */
const SESSION_IN = cat(
  HANDSHAKE_IN,
  KEPT.setPixelFormat,
  setEncodings(7, -316, 0, -223),
  KEPT.framebufferUpdateRequest,
  ...Object.values(INPUT).flatMap((m, i) => [m.bytes, Object.values(KEPT)[i % 6]]),
);
const SESSION_OUT_VIEW = cat(
  HANDSHAKE_OUT,
  KEPT.setPixelFormat,
  setEncodings(7, 0, -223),
  KEPT.framebufferUpdateRequest,
  ...Object.values(INPUT).map((_m, i) => Object.values(KEPT)[i % 6]),
);
const SESSION_OUT_CONTROL = cat(
  HANDSHAKE_OUT,
  KEPT.setPixelFormat,
  setEncodings(7, 0, -223),
  KEPT.framebufferUpdateRequest,
  ...Object.values(INPUT).flatMap((m, i) => [m.bytes, Object.values(KEPT)[i % 6]]),
);

const viewOnly = () => new RfbClientFilter({ inputAllowed: () => false });
const control = () => new RfbClientFilter({ inputAllowed: () => true });

/** Feeds `input` in chunks cut at `cuts` and joins what comes out. */
function run(sut: RfbClientFilter, input: Buffer, cuts: number[] = []): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(sut.push(input.subarray(at, cut)));
    at = cut;
  }
  return cat(...out);
}

/** A small seeded generator, so a failing random split can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function protocolError(f: () => unknown): RfbProtocolError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RfbProtocolError);
    return e as RfbProtocolError;
  }
  throw new Error('expected an RfbProtocolError, nothing was thrown');
}

describe(RfbClientFilter.name, () => {
  describe('handshake', () => {
    it('passes ProtocolVersion 3.8 and security None, and forces the ClientInit shared flag to 1', () => {
      expect(run(viewOnly(), HANDSHAKE_IN)).toEqual(HANDSHAKE_OUT);
      expect(run(viewOnly(), cat(VERSION, SECURITY_NONE, CLIENT_INIT_SHARED))).toEqual(HANDSHAKE_OUT);
      const v37 = Buffer.from('RFB 003.007\n', 'latin1');
      expect(run(viewOnly(), cat(v37, SECURITY_NONE, hex('00')))).toEqual(cat(v37, SECURITY_NONE, CLIENT_INIT_SHARED));
    });

    it('says when the handshake is over: after ClientInit, not before', () => {
      const sut = viewOnly();
      sut.push(cat(VERSION, SECURITY_NONE));
      expect(sut.handshakeDone).toBe(false);
      sut.push(CLIENT_INIT_EXCLUSIVE);
      expect(sut.handshakeDone).toBe(true);
    });

    it.each([
      ['RFB 003.003\n', /ProtocolVersion "RFB 003.003\\n" is not accepted; only "RFB 003.008\\n" or "RFB 003.007\\n"/],
      ['RFB 004.001\n', /ProtocolVersion "RFB 004.001\\n"/],
      ['GET / HTTP/1', /ProtocolVersion "GET \/ HTTP\/1" is not accepted/],
    ])('refuses the ProtocolVersion %j', (version, message) => {
      expect(protocolError(() => viewOnly().push(Buffer.from(version, 'latin1'))).message).toMatch(message);
    });

    it.each([0, 2, 16, 19, 30])('refuses security type %d (only None is offered by our servers)', (type) => {
      const e = protocolError(() => viewOnly().push(cat(VERSION, Buffer.from([type]))));
      expect(e.message).toBe(`RFB client error at byte 12: security type ${type} is not accepted; only None (1).`);
    });
  });

  describe('messages', () => {
    it.each(Object.entries(KEPT))('keeps %s for a viewer without control, byte for byte', (_name, bytes) => {
      const sut = viewOnly();
      expect(run(sut, cat(HANDSHAKE_IN, bytes))).toEqual(cat(HANDSHAKE_OUT, bytes));
      expect(sut.dropped.total).toBe(0);
    });

    it.each(Object.entries(INPUT))('drops %s without control, and only it; keeps it byte for byte with control', (_name, { bytes, kind }) => {
      const sut = viewOnly();
      const after = KEPT.framebufferUpdateRequest;
      expect(run(sut, cat(HANDSHAKE_IN, bytes, after))).toEqual(cat(HANDSHAKE_OUT, after));
      expect(sut.dropped).toMatchObject({ [kind]: 1, total: 1 });
      expect(run(control(), cat(HANDSHAKE_IN, bytes, after))).toEqual(cat(HANDSHAKE_OUT, bytes, after));
    });

    it('counts what it dropped, by kind', () => {
      const sut = viewOnly();
      run(sut, SESSION_IN);
      expect(sut.dropped).toEqual({ key: 2, pointer: 1, clipboard: 3, resize: 2, other: 5, total: 13 });
    });

    it('removes the ExtendedMouseButtons pseudo-encoding (-316) from SetEncodings, so a PointerEvent is always 6 bytes', () => {
      expect(run(control(), cat(HANDSHAKE_IN, setEncodings(-316, 7, -316, -223)))).toEqual(cat(HANDSHAKE_OUT, setEncodings(7, -223)));
      expect(run(control(), cat(HANDSHAKE_IN, setEncodings(-316)))).toEqual(cat(HANDSHAKE_OUT, setEncodings()));
    });

    it('removes the QEMU extended key event pseudo-encoding (-258), so every key is a keysym and a press and its release always pair', () => {
      expect(run(control(), cat(HANDSHAKE_IN, setEncodings(7, -258, -223, -316)))).toEqual(cat(HANDSHAKE_OUT, setEncodings(7, -223)));
      expect(run(control(), cat(HANDSHAKE_IN, setEncodings()))).toEqual(cat(HANDSHAKE_OUT, setEncodings()));
    });

    it('accepts a clipboard text of exactly the limit, arriving in many chunks', () => {
      const header = Buffer.alloc(8);
      header[0] = 6;
      header.writeInt32BE(RFB_MAX_CUT_TEXT_BYTES, 4);
      const message = cat(header, Buffer.alloc(RFB_MAX_CUT_TEXT_BYTES, 0x61));
      const input = cat(HANDSHAKE_IN, message);
      const cuts = Array.from({ length: Math.floor(input.length / 65_536) }, (_, i) => (i + 1) * 65_536);
      // Buffer.equals: Jest's toEqual takes seconds on a megabyte.
      expect(run(control(), input, cuts).equals(cat(HANDSHAKE_OUT, message))).toBe(true);
      expect(run(viewOnly(), input, cuts)).toEqual(HANDSHAKE_OUT);
    });
  });

  describe('whole messages, however the bytes are cut', () => {
    it('gives the same output for a whole session cut at every byte boundary', () => {
      for (let cut = 0; cut <= SESSION_IN.length; cut++) {
        expect([cut, run(viewOnly(), SESSION_IN, [cut]).toString('hex')]).toEqual([cut, SESSION_OUT_VIEW.toString('hex')]);
        expect([cut, run(control(), SESSION_IN, [cut]).toString('hex')]).toEqual([cut, SESSION_OUT_CONTROL.toString('hex')]);
      }
    });

    it('gives the same output one byte at a time, and never a partial message', () => {
      const sut = viewOnly();
      const outputs = [...SESSION_IN].map((byte) => sut.push(Buffer.from([byte])));
      expect(cat(...outputs)).toEqual(SESSION_OUT_VIEW);
      // Every non-empty output is exactly one whole message (or a handshake step): never a piece.
      const lengths = outputs.filter((o) => o.length > 0).map((o) => o.length);
      expect(lengths.slice(0, 4)).toEqual([12, 1, 1, 20]);
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(SESSION_OUT_VIEW.length);
      expect(lengths).toHaveLength(3 + 3 + Object.keys(INPUT).length);
    });

    it('gives the same output in random chunks (200 seeded runs)', () => {
      for (let seed = 1; seed <= 200; seed++) {
        const random = lcg(seed);
        const cuts: number[] = [];
        for (let at = 0; at < SESSION_IN.length; ) cuts.push((at += 1 + Math.floor(random() * 24)));
        expect([seed, run(viewOnly(), SESSION_IN, cuts).toString('hex')]).toEqual([seed, SESSION_OUT_VIEW.toString('hex')]);
        expect([seed, run(control(), SESSION_IN, cuts).toString('hex')]).toEqual([seed, SESSION_OUT_CONTROL.toString('hex')]);
      }
    });
  });

  describe('control switching mid-stream', () => {
    const key = INPUT.keyEvent.bytes;

    it('judges a message when its last byte arrives: control taken away halfway drops it', () => {
      let allowed = true;
      const sut = new RfbClientFilter({ inputAllowed: () => allowed });
      sut.push(HANDSHAKE_IN);
      expect(sut.push(key.subarray(0, 5))).toHaveLength(0);
      allowed = false;
      expect(sut.push(key.subarray(5))).toHaveLength(0);
      expect(sut.dropped.key).toBe(1);
    });

    it('judges a message when its last byte arrives: control given halfway keeps it', () => {
      let allowed = false;
      const sut = new RfbClientFilter({ inputAllowed: () => allowed });
      sut.push(HANDSHAKE_IN);
      expect(sut.push(key.subarray(0, 7))).toHaveLength(0);
      allowed = true;
      expect(sut.push(key.subarray(7))).toEqual(key);
    });

    it('asks once per input message, in order, within one chunk; never for the messages every viewer may send', () => {
      const answers = [true, false, false, true];
      const asked: number[] = [];
      const sut = new RfbClientFilter({
        inputAllowed: () => {
          asked.push(asked.length);
          return answers[asked.length - 1];
        },
      });
      const p1 = hex('05 00 0001 0001');
      const p2 = hex('05 00 0002 0002');
      const p3 = hex('05 00 0003 0003');
      const p4 = hex('05 00 0004 0004');
      const fbur = KEPT.framebufferUpdateRequest;
      expect(sut.push(cat(HANDSHAKE_IN, p1, fbur, p2, p3, fbur, p4))).toEqual(cat(HANDSHAKE_OUT, p1, fbur, fbur, p4));
      expect(asked).toHaveLength(4);
      expect(sut.dropped).toMatchObject({ pointer: 2, total: 2 });
    });
  });

  describe('malformed input', () => {
    const after = (bytes: Buffer) => () => viewOnly().push(cat(HANDSHAKE_IN, bytes));

    it.each([
      ['an unknown message type', hex('07 00 00 00'), 'unknown client message type 7'],
      ['a TightVNC/UltraVNC message type', hex('fc 00'), 'unknown client message type 252'],
      ['a clipboard text over the limit', hex('06 000000 00100001'), 'ClientCutText of 1048577 bytes is over the 1048576-byte limit'],
      ['an extended clipboard over the limit', hex('06 000000 80000000'), 'ClientCutText of 2147483648 bytes is over the 1048576-byte limit'],
      ['an extended clipboard without its flags', hex('06 000000 fffffffe 0000'), 'an extended ClientCutText needs at least its 4 flag bytes, not 2'],
      ['too many encodings', hex('02 00 0401'), 'SetEncodings lists 1025 encodings; at most 1024 are accepted'],
      ['a fence payload over 64 bytes', hex('f8 000000 00000000 41'), 'Fence payload of 65 bytes is over the 64-byte limit'],
      ['an unknown QEMU sub-type', hex('ff 02 0000'), 'unknown QEMU client message sub-type 2'],
      ['an unknown QEMU audio operation', hex('ff 01 0003'), 'unknown QEMU audio operation 3'],
    ])('refuses %s with a clear message, as soon as the header shows it', (_what, bytes, message) => {
      expect(protocolError(after(bytes)).message).toBe(`RFB client error at byte 14: ${message}.`);
    });

    it('counts the byte offset from the start of the stream', () => {
      const e = protocolError(after(cat(KEPT.framebufferUpdateRequest, hex('09'))));
      expect(e.message).toBe('RFB client error at byte 24: unknown client message type 9.');
    });

    it('forwards nothing of the chunk that holds a bad message, and stays failed', () => {
      const sut = viewOnly();
      expect(sut.push(HANDSHAKE_IN)).toEqual(HANDSHAKE_OUT);
      const first = protocolError(() => sut.push(cat(KEPT.framebufferUpdateRequest, hex('07'))));
      expect(protocolError(() => sut.push(KEPT.framebufferUpdateRequest))).toBe(first);
    });

    it('stays failed when inputAllowed throws', () => {
      const sut = new RfbClientFilter({
        inputAllowed: () => {
          throw new Error('the session is gone');
        },
      });
      sut.push(HANDSHAKE_IN);
      expect(() => sut.push(INPUT.keyEvent.bytes)).toThrow('the session is gone');
      expect(() => sut.push(KEPT.framebufferUpdateRequest)).toThrow('the session is gone');
    });
  });
});
