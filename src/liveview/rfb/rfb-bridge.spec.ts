import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '../../../test/support/wait-for';
import { bridgeRfb, RfbBridge, RfbBridgeOptions } from './rfb-bridge';
import { RfbClientFilter } from './rfb-client-filter';

/*
 * A real `ws` server on loopback bridged to a fake VNC server on a unix socket in a temp folder.
 * The fake records every byte that reaches it; the viewer is a real `ws` client.
 */

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const cat = (...parts: Buffer[]) => Buffer.concat(parts);
const HANDSHAKE_IN = cat(Buffer.from('RFB 003.008\n'), hex('01 00'));
const HANDSHAKE_OUT = cat(Buffer.from('RFB 003.008\n'), hex('01 01'));
const FBUR_FULL = hex('03 00 0000 0000 0280 01e0');
const FBUR_LAST = hex('03 01 0001 0002 0003 0004'); // a marker: everything sent before it has arrived once it has
const KEY_A = hex('04 01 0000 00000061');
const POINTER = hex('05 01 0064 0032');
const CUT_TEXT = cat(hex('06 000000 00000003'), Buffer.from('abc'));

/** A stand-in VNC server: records what each connection receives, and can write and close. */
class FakeVncServer {
  readonly connections: { socket: Socket; received: Buffer[]; closed: boolean }[] = [];
  private readonly server: Server;

  private constructor(readonly path: string) {
    this.server = createServer((socket) => {
      const c = { socket, received: [] as Buffer[], closed: false };
      this.connections.push(c);
      socket.on('data', (d) => c.received.push(d));
      socket.on('error', () => undefined);
      socket.on('close', () => (c.closed = true));
    });
  }

  static async listen(path: string): Promise<FakeVncServer> {
    const fake = new FakeVncServer(path);
    await new Promise<void>((resolve) => fake.server.listen(path, resolve));
    return fake;
  }

  received(i = 0): Buffer {
    return cat(...(this.connections[i]?.received ?? []));
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A viewer: a real WebSocket client that keeps what it receives and how it was closed. */
class Viewer {
  readonly messages: { data: Buffer; binary: boolean }[] = [];
  closedWith: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary) => this.messages.push({ data, binary }));
    ws.on('close', (code, reason) => (this.closedWith = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  static async open(url: string): Promise<Viewer> {
    const ws = new WebSocket(url);
    const viewer = new Viewer(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return viewer;
  }

  received(): Buffer {
    return cat(...this.messages.map((m) => m.data));
  }

  /** How many bytes have arrived, without joining them (a wait polls this: joining 32 MiB each time was what took long). */
  receivedBytes(): number {
    let n = 0;
    for (const m of this.messages) n += m.data.length;
    return n;
  }

  closed(): Promise<{ code: number; reason: string }> {
    return waitFor('the viewer to be closed', () => this.closedWith);
  }
}

describe(bridgeRfb.name, () => {
  let dir: string;
  let fakeVnc: FakeVncServer;
  let wss: WebSocketServer;
  let url: string;
  let control: boolean;
  let options: RfbBridgeOptions;
  let bridges: RfbBridge[];
  let vncSockets: Socket[];
  let viewers: Viewer[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfb-bridge-'));
    fakeVnc = await FakeVncServer.listen(join(dir, 'fake-vnc.sock'));
    control = false;
    options = {};
    bridges = [];
    vncSockets = [];
    viewers = [];
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on('connection', (ws) => {
      const vnc = connect(fakeVnc.path);
      vncSockets.push(vnc);
      bridges.push(bridgeRfb(ws, vnc, new RfbClientFilter({ inputAllowed: () => control }), options));
    });
  });

  afterEach(async () => {
    for (const v of viewers) v.ws.terminate();
    for (const b of bridges) b.close('test over');
    await Promise.all(bridges.map((b) => b.closed));
    await new Promise((resolve) => wss.close(resolve));
    await fakeVnc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A viewer connected through a bridge to the fake VNC server. */
  async function connectViewer(): Promise<{ viewer: Viewer; bridge: RfbBridge }> {
    const viewer = await Viewer.open(url);
    viewers.push(viewer);
    const bridge = await waitFor('the bridge', () => bridges[viewers.length - 1]);
    await waitFor('the fake VNC server to be reached', () => fakeVnc.connections[viewers.length - 1]);
    return { viewer, bridge };
  }

  const arrived = (i: number, marker: Buffer) => waitFor('the marker to reach the fake VNC server', () => fakeVnc.received(i).subarray(-marker.length).equals(marker));

  describe('client to server', () => {
    it("never lets a view-only viewer's keys, pointer or clipboard reach the VNC server; the rest arrives in order", async () => {
      const { viewer, bridge } = await connectViewer();
      viewer.ws.send(cat(HANDSHAKE_IN, FBUR_FULL));
      viewer.ws.send(KEY_A);
      viewer.ws.send(cat(POINTER, CUT_TEXT, FBUR_LAST));
      await arrived(0, FBUR_LAST);
      expect(fakeVnc.received().toString('hex')).toBe(cat(HANDSHAKE_OUT, FBUR_FULL, FBUR_LAST).toString('hex'));
      expect(bridge.counters).toEqual({ toServerBytes: 14 + 20, toClientBytes: 0, droppedInputMessages: 3 });
    });

    it('lets them through, byte for byte, while the viewer holds control, and drops them again once it is taken away', async () => {
      control = true;
      const { viewer, bridge } = await connectViewer();
      viewer.ws.send(cat(HANDSHAKE_IN, KEY_A, POINTER, CUT_TEXT, FBUR_FULL));
      await arrived(0, FBUR_FULL);
      expect(fakeVnc.received().toString('hex')).toBe(cat(HANDSHAKE_OUT, KEY_A, POINTER, CUT_TEXT, FBUR_FULL).toString('hex'));
      control = false;
      viewer.ws.send(cat(KEY_A, POINTER, FBUR_LAST));
      await arrived(0, FBUR_LAST);
      expect(fakeVnc.received().toString('hex')).toBe(cat(HANDSHAKE_OUT, KEY_A, POINTER, CUT_TEXT, FBUR_FULL, FBUR_LAST).toString('hex'));
      expect(bridge.counters.droppedInputMessages).toBe(2);
    });

    it('closes the viewer with 1008 and the reason on a protocol error, and the VNC connection with it; nothing of that message goes on', async () => {
      const { viewer, bridge } = await connectViewer();
      viewer.ws.send(cat(HANDSHAKE_IN, FBUR_FULL));
      await arrived(0, FBUR_FULL);
      viewer.ws.send(cat(FBUR_LAST, hex('07 00 00 00'), FBUR_LAST));
      expect(await viewer.closed()).toEqual({ code: 1008, reason: 'RFB client error at byte 34: unknown client message type 7.' });
      await waitFor('the VNC connection to close', () => fakeVnc.connections[0].closed);
      expect(fakeVnc.received().toString('hex')).toBe(cat(HANDSHAKE_OUT, FBUR_FULL).toString('hex'));
      expect(await bridge.closed).toEqual({ code: 1008, reason: 'RFB client error at byte 34: unknown client message type 7.' });
    });

    it('closes with 1008 on a text message', async () => {
      const { viewer } = await connectViewer();
      viewer.ws.send('RFB 003.008\n');
      expect(await viewer.closed()).toEqual({ code: 1008, reason: 'RFB is sent in binary messages only' });
      await waitFor('the VNC connection to close', () => fakeVnc.connections[0].closed);
    });

    it('closes with 1008 when the viewer does not finish the handshake in time, and not once it has', async () => {
      options = { handshakeTimeoutMs: 300 };
      const done = await connectViewer();
      done.viewer.ws.send(HANDSHAKE_IN);
      const slow = await connectViewer();
      slow.viewer.ws.send(Buffer.from('RFB 003.008\n'));
      expect(await slow.viewer.closed()).toEqual({ code: 1008, reason: 'RFB handshake timed out' });
      await waitFor('the slow viewer’s VNC connection to close', () => fakeVnc.connections[1].closed);
      // The first viewer's deadline came earlier and it is still connected: a request sent now arrives.
      done.viewer.ws.send(FBUR_LAST);
      await arrived(0, FBUR_LAST);
      expect(done.viewer.closedWith).toBeUndefined();
    });

    it('stops reading the viewer while the VNC server does not read, and loses nothing', async () => {
      control = true;
      const { viewer } = await connectViewer();
      const vncSide = fakeVnc.connections[0].socket;
      vncSide.pause();
      const text = Buffer.alloc(1024 * 1024 - 8, 0x41);
      const header = hex('06 000000 000ffff8');
      const count = 24;
      for (let i = 0; i < count; i++) viewer.ws.send(i === 0 ? cat(HANDSHAKE_IN, header, text) : cat(header, text));
      // The viewer's sends back up in its own socket, not in the bridge: the bridge's write buffer towards the
      // VNC server holds a message or two, not all 24 MiB.
      const serverWs = [...wss.clients][0];
      await waitFor('the bridge to stop reading the viewer', () => serverWs.isPaused && viewer.ws.bufferedAmount > 0);
      expect(vncSockets[0].writableLength).toBeLessThan(3 * 1024 * 1024);
      vncSide.resume();
      await waitFor('every message to reach the fake VNC server', () => fakeVnc.received().length === 14 + count * 1024 * 1024, 30_000);
      const expected = createHash('sha256').update(cat(HANDSHAKE_OUT, ...Array.from({ length: count }, () => cat(header, text))));
      expect(createHash('sha256').update(fakeVnc.received()).digest('hex')).toBe(expected.digest('hex'));
    });
  });

  describe('server to client', () => {
    it('relays the VNC server’s bytes unchanged, as binary messages', async () => {
      const { viewer, bridge } = await connectViewer();
      const vncSide = fakeVnc.connections[0].socket;
      const sent = [Buffer.from('RFB 003.008\n'), hex('01 01'), hex('00000000'), Buffer.alloc(70_000, 9)];
      for (const s of sent) vncSide.write(s);
      await waitFor('every byte at the viewer', () => viewer.received().length === 12 + 2 + 4 + 70_000);
      expect(viewer.received().equals(cat(...sent))).toBe(true);
      expect(viewer.messages.every((m) => m.binary)).toBe(true);
      expect(bridge.counters.toClientBytes).toBe(70_018);
    });

    it('stops reading the VNC server while the viewer does not read, and loses nothing', async () => {
      options = { maxBufferedBytes: 256 * 1024 };
      const { viewer } = await connectViewer();
      const serverWs = [...wss.clients][0];
      const vncSide = fakeVnc.connections[0].socket;
      viewer.ws.pause();
      const chunkBytes = 64 * 1024;
      const count = 512; // 32 MiB, far more than the sockets between them hold
      for (let i = 0; i < count; i++) vncSide.write(Buffer.alloc(chunkBytes, i & 255));
      // The fake VNC server's writes back up on its side: the bridge keeps no more than its limit plus a read.
      await waitFor('the bridge to stop reading the VNC server', () => vncSockets[0].isPaused() && vncSide.writableLength > 0);
      expect(serverWs.bufferedAmount).toBeLessThan(256 * 1024 + 128 * 1024);
      viewer.ws.resume();
      await waitFor('every byte at the viewer', () => viewer.receivedBytes() === count * chunkBytes, 30_000);
      const received = viewer.received();
      for (let i = 0; i < count; i++) expect([i, received[i * chunkBytes], received[(i + 1) * chunkBytes - 1]]).toEqual([i, i & 255, i & 255]);
    });
  });

  describe('closing', () => {
    it('closes the VNC connection when the viewer leaves', async () => {
      const { viewer, bridge } = await connectViewer();
      viewer.ws.close(1000, 'bye');
      await waitFor('the VNC connection to close', () => fakeVnc.connections[0].closed);
      expect(await bridge.closed).toEqual({ code: 1000, reason: 'viewer closed' });
    });

    it('closes the viewer with 1011 when the VNC server ends the connection', async () => {
      const { viewer, bridge } = await connectViewer();
      fakeVnc.connections[0].socket.end(Buffer.from('RFB 003.008\n'));
      expect(await viewer.closed()).toEqual({ code: 1011, reason: 'desktop connection closed' });
      expect(viewer.received().toString()).toBe('RFB 003.008\n'); // what came before the end still arrives
      expect(await bridge.closed).toEqual({ code: 1011, reason: 'desktop connection closed' });
    });

    it('close(reason) ends both sides, and later calls change nothing', async () => {
      const { viewer, bridge } = await connectViewer();
      bridge.close('session ended');
      bridge.close('something else');
      expect(await viewer.closed()).toEqual({ code: 1000, reason: 'session ended' });
      await waitFor('the VNC connection to close', () => fakeVnc.connections[0].closed);
      expect(await bridge.closed).toEqual({ code: 1000, reason: 'session ended' });
    });

    it('cuts a long reason to what a close frame holds', async () => {
      const { viewer, bridge } = await connectViewer();
      bridge.close('é'.repeat(100));
      const { reason } = await viewer.closed();
      expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
      expect(reason).toMatch(/^é+\.\.\.$/);
    });
  });
});
