/**
 * Joins a viewer's WebSocket (noVNC in a browser) to a desktop's VNC server connection.
 *
 *   const bridge = bridgeRfb(ws, net.connect(vncSocketPath), new RfbClientFilter({ inputAllowed }));
 *   bridge.close('session ended'); // the owner ends a viewer
 *   const { code, reason } = await bridge.closed; // both sides are closed
 *
 * Server-to-client bytes go out unchanged, as binary WebSocket messages; client-to-server bytes go
 * through the filter, which leaves out input the viewer may not send (see rfb-client-filter.ts).
 * Each direction has backpressure: the VNC socket is paused while more than `maxBufferedBytes` wait to
 * go out on the WebSocket, and the WebSocket is paused while the VNC socket's write buffer is full.
 *
 * Either side ending ends the other. The WebSocket is closed with
 * - 1000 and the owner's reason, after `close(reason)`;
 * - 1008 when the viewer broke the protocol (an RfbProtocolError, a text message) or did not finish
 *   the RFB handshake (up to ClientInit) within `handshakeTimeoutMs`;
 * - 1011 when the VNC connection ended or failed.
 * `closed` resolves once both sides are closed, with the code and reason of whatever ended it first
 * (the viewer's own close code when the viewer left).
 */
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import { RfbClientFilter } from './rfb-client-filter';

export interface RfbBridgeOptions {
  /** Time for the viewer to complete the RFB handshake (ProtocolVersion, security, ClientInit); default 10 s. */
  handshakeTimeoutMs?: number;
  /** Bytes waiting to go out on the WebSocket above which the VNC socket is paused; default 1 MiB. */
  maxBufferedBytes?: number;
}

export interface RfbBridgeCounters {
  /** Bytes sent on to the VNC server, after the filter. */
  toServerBytes: number;
  /** Bytes sent to the viewer. */
  toClientBytes: number;
  /** Input messages the filter left out because the viewer did not hold control. */
  droppedInputMessages: number;
}

/** How a bridge ended: the WebSocket close code and a short reason. */
export interface RfbBridgeEnd {
  code: number;
  reason: string;
}

export interface RfbBridge {
  /** Resolves when both the WebSocket and the VNC connection are closed. */
  readonly closed: Promise<RfbBridgeEnd>;
  readonly counters: Readonly<RfbBridgeCounters>;
  /** Ends the viewer (WebSocket close 1000 with `reason`) and the VNC connection; does nothing once ended. */
  close(reason: string): void;
}

export const RFB_CLOSE = { normal: 1000, policy: 1008, serverError: 1011 } as const;

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** A WebSocket close reason is at most 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

export function bridgeRfb(ws: WebSocket, vnc: Duplex, filter: RfbClientFilter, options: RfbBridgeOptions = {}): RfbBridge {
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const counters: RfbBridgeCounters = { toServerBytes: 0, toClientBytes: 0, droppedInputMessages: 0 };
  let end: RfbBridgeEnd | undefined;
  let wsClosed = false;
  let vncClosed = false;
  let vncPaused = false;
  let wsPaused = false;
  let resolveClosed: (end: RfbBridgeEnd) => void = () => undefined;
  const closed = new Promise<RfbBridgeEnd>((resolve) => (resolveClosed = resolve));

  const settle = () => {
    if (wsClosed && vncClosed && end) resolveClosed(end);
  };
  const finish = (code: number, reason: string) => {
    if (!end) {
      end = { code, reason };
      clearTimeout(handshakeTimer);
      if (ws.readyState === WebSocket.OPEN) ws.close(code, shortReason(reason));
      vnc.destroy();
    }
    settle();
  };

  const handshakeTimer = setTimeout(() => {
    if (!filter.handshakeDone) finish(RFB_CLOSE.policy, 'RFB handshake timed out');
  }, options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
  handshakeTimer.unref();

  // Viewer → filter → VNC server.
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (end) return;
    if (!isBinary) return finish(RFB_CLOSE.policy, 'RFB is sent in binary messages only');
    let bytes: Buffer;
    try {
      bytes = filter.push(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
    } catch (e) {
      return finish(RFB_CLOSE.policy, e instanceof Error ? e.message : String(e));
    } finally {
      counters.droppedInputMessages = filter.dropped.total;
    }
    if (filter.handshakeDone) clearTimeout(handshakeTimer);
    if (bytes.length === 0) return;
    counters.toServerBytes += bytes.length;
    if (!vnc.write(bytes) && !wsPaused) {
      wsPaused = true;
      ws.pause();
      vnc.once('drain', () => {
        wsPaused = false;
        ws.resume();
      });
    }
  });
  ws.on('error', () => undefined); // ws closes the connection itself after a frame error, and 'close' follows
  ws.on('close', (code: number) => {
    wsClosed = true;
    finish(code, 'viewer closed');
  });

  // VNC server → viewer.
  const sent = () => {
    if (vncPaused && !end && ws.bufferedAmount <= maxBuffered / 2) {
      vncPaused = false;
      vnc.resume();
    }
  };
  vnc.on('data', (data: Buffer) => {
    if (end || ws.readyState !== WebSocket.OPEN) return;
    counters.toClientBytes += data.length;
    ws.send(data, { binary: true }, sent);
    if (!vncPaused && ws.bufferedAmount > maxBuffered) {
      vncPaused = true;
      vnc.pause();
    }
  });
  vnc.on('end', () => finish(RFB_CLOSE.serverError, 'desktop connection closed'));
  vnc.on('error', () => finish(RFB_CLOSE.serverError, 'desktop connection failed'));
  vnc.on('close', () => {
    vncClosed = true;
    finish(RFB_CLOSE.serverError, 'desktop connection closed');
  });

  if (ws.readyState === WebSocket.CLOSED) {
    wsClosed = true;
    finish(RFB_CLOSE.normal, 'viewer closed');
  }
  if (vnc.closed) {
    vncClosed = true;
    finish(RFB_CLOSE.serverError, 'desktop connection closed');
  }

  return {
    closed,
    counters,
    close: (reason: string) => finish(RFB_CLOSE.normal, reason),
  };
}

/** `reason` cut to fit a WebSocket close frame, on a character boundary. */
function shortReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = '';
  for (const ch of reason) {
    if (Buffer.byteLength(cut + ch) > MAX_CLOSE_REASON_BYTES - 3) break;
    cut += ch;
  }
  return `${cut}...`;
}
