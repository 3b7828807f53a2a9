import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '../../../test/support/wait-for';
import { bridgeRfb, RfbBridge } from './rfb-bridge';
import { RfbClientFilter } from './rfb-client-filter';

/*
 * The filter and the bridge in front of a real VNC server: Debian's Xtigervnc (tigervnc-standalone-server)
 * listening on a unix socket only, with SecurityTypes None, as the live view runs it. The viewer is a small
 * scripted RFB client over a real WebSocket; xdotool reads the X pointer back. Needs Xtigervnc and xdotool.
 */

const run = promisify(execFile);
const WIDTH = 640;
const HEIGHT = 480;

/** A scripted RFB client: reads exactly the bytes it asks for from the WebSocket's binary messages. */
class ScriptedViewer {
  private chunks: Buffer[] = [];
  private size = 0;
  private bytesPerPixel = 4;
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.chunks.push(data);
      this.size += data.length;
    });
    ws.on('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }

  static async open(url: string): Promise<ScriptedViewer> {
    const ws = new WebSocket(url);
    const viewer = new ScriptedViewer(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return viewer;
  }

  async read(n: number, what: string): Promise<Buffer> {
    await waitFor(`${what} (${n} bytes) from the VNC server`, () => this.size >= n, 10_000, 10);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(n)];
    this.size -= n;
    return all.subarray(0, n);
  }

  send(bytes: Buffer): void {
    this.ws.send(bytes);
  }

  /** ProtocolVersion, security None, ClientInit asking for exclusive access, ServerInit; then Raw encoding only. */
  async handshake(): Promise<{ width: number; height: number; name: string }> {
    expect((await this.read(12, 'ProtocolVersion')).toString('latin1')).toBe('RFB 003.008\n');
    this.send(Buffer.from('RFB 003.008\n', 'latin1'));
    const count = (await this.read(1, 'the number of security types'))[0];
    expect([...(await this.read(count, 'the security types'))]).toContain(1);
    this.send(Buffer.from([1]));
    expect((await this.read(4, 'SecurityResult')).readUInt32BE(0)).toBe(0);
    this.send(Buffer.from([0])); // exclusive: the filter must make it shared
    const init = await this.read(24, 'ServerInit');
    this.bytesPerPixel = init[4] / 8;
    const name = (await this.read(init.readUInt32BE(20), 'the desktop name')).toString('utf8');
    this.send(Buffer.from([2, 0, 0, 1, 0, 0, 0, 0])); // SetEncodings: Raw
    return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name };
  }

  /** Asks for a (non-incremental) update of a rectangle and reads the whole reply: the rectangles' total area. */
  async update(x: number, y: number, w: number, h: number): Promise<number> {
    const request = Buffer.alloc(10);
    request[0] = 3;
    request.writeUInt16BE(x, 2);
    request.writeUInt16BE(y, 4);
    request.writeUInt16BE(w, 6);
    request.writeUInt16BE(h, 8);
    this.send(request);
    for (;;) {
      const type = (await this.read(1, 'a server message'))[0];
      if (type === 2) continue; // Bell
      if (type === 3) {
        const cut = await this.read(7, 'ServerCutText');
        await this.read(cut.readUInt32BE(3), 'the cut text');
        continue;
      }
      expect(type).toBe(0); // FramebufferUpdate
      const rects = (await this.read(3, 'FramebufferUpdate')).readUInt16BE(1);
      let area = 0;
      for (let i = 0; i < rects; i++) {
        const rect = await this.read(12, 'a rectangle header');
        expect(rect.readInt32BE(8)).toBe(0); // Raw, the only encoding asked for
        const pixels = rect.readUInt16BE(4) * rect.readUInt16BE(6);
        await this.read(pixels * this.bytesPerPixel, 'the pixels');
        area += pixels;
      }
      return area;
    }
  }

  pointer(x: number, y: number, buttons = 0): void {
    const event = Buffer.alloc(6);
    event[0] = 5;
    event[1] = buttons;
    event.writeUInt16BE(x, 2);
    event.writeUInt16BE(y, 4);
    this.send(event);
  }
}

describe('bridgeRfb with Xtigervnc', () => {
  let dir: string;
  let xvnc: ChildProcess;
  let display: string;
  let socketPath: string;
  let wss: WebSocketServer;
  let url: string;
  let control: boolean;
  const bridges: RfbBridge[] = [];
  const viewers: ScriptedViewer[] = [];

  const xdotool = async (...args: string[]) => (await run('xdotool', args, { env: { ...process.env, DISPLAY: display } })).stdout;
  const pointerAt = async () => {
    const shell = await xdotool('getmouselocation', '--shell');
    return { x: Number(/^X=(\d+)$/m.exec(shell)?.[1]), y: Number(/^Y=(\d+)$/m.exec(shell)?.[1]) };
  };
  const openViewer = async () => {
    const viewer = await ScriptedViewer.open(url);
    viewers.push(viewer);
    return viewer;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfb-xtigervnc-'));
    socketPath = join(dir, 'vnc.sock');
    let displayOut = '';
    let log = '';
    xvnc = spawn(
      'Xtigervnc',
      ['-displayfd', '3', '-rfbunixpath', socketPath, '-rfbport', '-1', '-SecurityTypes', 'None', '-geometry', `${WIDTH}x${HEIGHT}`, '-depth', '24', '-nolisten', 'tcp'],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
    );
    let spawnError: Error | undefined;
    xvnc.on('error', (e) => (spawnError = e));
    xvnc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    xvnc.stdio[3]!.on('data', (d: Buffer) => (displayOut += d.toString()));
    const number = await waitFor("Xtigervnc to report its display", () => {
      if (spawnError) throw new Error(`Xtigervnc could not start (apt-get install tigervnc-standalone-server): ${spawnError.message}`);
      if (xvnc.exitCode !== null) throw new Error(`Xtigervnc exited ${xvnc.exitCode}: ${log.slice(-500)}`);
      return /^(\d+)\n/.exec(displayOut)?.[1];
    });
    display = `:${number}`;
    await waitFor('the VNC socket', () => existsSync(socketPath));

    control = false;
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on('connection', (ws) => bridges.push(bridgeRfb(ws, connect(socketPath), new RfbClientFilter({ inputAllowed: () => control }))));
  });

  afterEach(async () => {
    for (const b of bridges.splice(0)) {
      b.close('test over');
      await b.closed;
    }
    viewers.splice(0);
    control = false;
  });

  afterAll(async () => {
    await new Promise((resolve) => wss?.close(resolve));
    if (xvnc?.pid !== undefined && xvnc.exitCode === null && xvnc.signalCode === null) {
      xvnc.kill('SIGTERM');
      await waitFor('Xtigervnc to exit', () => xvnc.exitCode !== null || xvnc.signalCode !== null);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes the handshake through the filter and receives the whole screen', async () => {
    const viewer = await openViewer();
    expect(await viewer.handshake()).toMatchObject({ width: WIDTH, height: HEIGHT });
    expect(await viewer.update(0, 0, WIDTH, HEIGHT)).toBe(WIDTH * HEIGHT);
  });

  it('keeps a view-only viewer’s pointer off the desktop, and moves it once the viewer holds control', async () => {
    const viewer = await openViewer();
    await viewer.handshake();
    await xdotool('mousemove', '600', '400');
    await waitFor('the pointer at its start', async () => (await pointerAt()).x === 600);

    viewer.pointer(100, 50);
    // The server handles a connection's messages in order: once the update after the pointer event is
    // back, a forwarded pointer event would already have moved the pointer.
    expect(await viewer.update(0, 0, 1, 1)).toBe(1);
    expect(await pointerAt()).toEqual({ x: 600, y: 400 });

    control = true;
    viewer.pointer(100, 50);
    await waitFor('the pointer to move to (100, 50)', async () => {
      expect(await pointerAt()).toEqual({ x: 100, y: 50 });
      return true;
    });
  });

  it('keeps the first viewer connected when a second asks for exclusive access (the shared flag is forced)', async () => {
    const first = await openViewer();
    await first.handshake();
    const second = await openViewer();
    await second.handshake();
    expect(await second.update(0, 0, 1, 1)).toBe(1);
    expect(await first.update(0, 0, 1, 1)).toBe(1);
    expect(first.closed).toBe(false);
  });
});
