import sharp from 'sharp';
import { isDomainError } from '../src/common/domain-error';
import { CuaComputer } from '../src/computer/cua/cua-computer.module';
import { CheckedComputer, parseKeyCombo } from '../src/computer/computer.module';
import { FakeCuaPeer, NEWER_SERVER_COMMANDS } from './support/fake-cua-peer';
import { waitFor } from './support/wait-for';

/**
 * The cua client against a FAKE peer (a raw ws/http server scripted per test): the exact frames
 * it sends, and how it copes with slow, chatty and broken servers.
 */
describe('cua client protocol (fake peer)', () => {
  let peer: FakeCuaPeer;
  const computers: CuaComputer[] = [];
  const connect = async (extra: { apiKey?: string; containerName?: string; requestTimeoutMs?: number; settleDelayMs?: number } = {}) => {
    const c = await CuaComputer.connect(
      { url: peer.url, apiKey: extra.apiKey, containerName: extra.containerName },
      { requestTimeoutMs: extra.requestTimeoutMs ?? 2000, settleDelayMs: extra.settleDelayMs },
    );
    computers.push(c);
    return c;
  };
  const error = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return e as Error & { code?: string };
    }
    throw new Error('expected a failure');
  };

  beforeEach(async () => {
    peer = await FakeCuaPeer.start();
  });
  afterEach(async () => {
    await Promise.all(computers.splice(0).map((c) => c.close()));
    await peer.close();
  });

  it('sends the reference frames, byte for byte, authentication first', async () => {
    peer.commands = NEWER_SERVER_COMMANDS;
    const c = await connect({ apiKey: 'k-123', containerName: 'desk-1' });
    await c.click({ x: 10, y: 20 }, 'left', 1);
    await c.click({ x: 10, y: 20 }, 'right', 1);
    await c.click({ x: 5, y: 6 }, 'left', 2);
    await c.click({ x: 5, y: 6 }, 'left', 3);
    await c.click({ x: 9, y: 9 }, 'middle', 1);
    await c.moveMouse({ x: 7, y: 8 });
    await c.typeText('héllo "x"');
    await c.pressKeys(parseKeyCombo('Return'));
    await c.pressKeys(parseKeyCombo('ctrl+s'));
    await c.setKeys(parseKeyCombo('shift'), true);
    await c.setKeys(parseKeyCombo('shift'), false);
    await c.drag([{ x: 1, y: 2 }, { x: 30, y: 40 }], 'left');
    await c.scroll({ x: 100, y: 100 }, 0, 3);
    await c.mouseDown('left');
    await c.mouseUp('left');
    await c.cursorPosition();
    await c.runCommand('echo hi', { timeoutMs: 5000 });
    await c.capture().catch(() => undefined);
    expect(peer.requests.map((r) => r.raw)).toEqual([
      '{"command":"authenticate","params":{"api_key":"k-123","container_name":"desk-1"}}',
      '{"command":"version"}',
      '{"command":"get_screen_size"}',
      '{"command":"left_click","params":{"x":10,"y":20}}',
      '{"command":"right_click","params":{"x":10,"y":20}}',
      '{"command":"double_click","params":{"x":5,"y":6}}',
      '{"command":"double_click","params":{"x":5,"y":6}}',
      '{"command":"mouse_down","params":{"x":5,"y":6,"button":"left"}}',
      '{"command":"mouse_up","params":{"x":5,"y":6,"button":"left"}}',
      '{"command":"mouse_down","params":{"x":9,"y":9,"button":"middle"}}',
      '{"command":"mouse_up","params":{"x":9,"y":9,"button":"middle"}}',
      '{"command":"move_cursor","params":{"x":7,"y":8}}',
      '{"command":"type_text","params":{"text":"héllo \\"x\\""}}',
      '{"command":"press_key","params":{"key":"enter"}}',
      '{"command":"hotkey","params":{"keys":["ctrl","s"]}}',
      '{"command":"key_down","params":{"key":"shift"}}',
      '{"command":"key_up","params":{"key":"shift"}}',
      '{"command":"drag","params":{"path":[[1,2],[30,40]],"button":"left"}}',
      '{"command":"move_cursor","params":{"x":100,"y":100}}',
      '{"command":"scroll_direction","params":{"direction":"down","clicks":3}}',
      '{"command":"mouse_down","params":{"button":"left"}}',
      '{"command":"mouse_up","params":{"button":"left"}}',
      '{"command":"get_cursor_position"}',
      '{"command":"run_command","params":{"command":"echo hi","timeout":5}}',
      '{"command":"screenshot","params":{"format":"png"}}',
    ]);
    expect(peer.requests.every((r) => r.via === 'ws')).toBe(true);
    expect(c.info).toMatchObject({ transport: 'ws', protocol: 1, package: 'fake-peer 0.0.1' });
  });

  it('returns the screenshot as an encoded frame with its real size, and command results with exit codes', async () => {
    const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 0, g: 128, b: 255 } } }).png().toBuffer();
    peer.handler = (req) => {
      if (req.command === 'screenshot') return { reply: { success: true, image_data: png.toString('base64') } };
      if (req.command === 'run_command') return { reply: { success: true, stdout: 'out\n', stderr: 'err\n', return_code: 3 } };
      return undefined;
    };
    const c = await connect();
    const frame = await c.capture();
    expect(frame).toMatchObject({ kind: 'encoded', width: 320, height: 200, mimeType: 'image/png' });
    const { data } = await sharp(frame.data).raw().toBuffer({ resolveWithObject: true });
    expect([...data.subarray(0, 3)]).toEqual([0, 128, 255]);
    // The screen size follows what the screenshots show.
    expect(await c.screenSize()).toEqual({ width: 320, height: 200 });
    expect(await c.runCommand('false')).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 3, timedOut: false, truncated: false });
    // An older server without /commands gets no format and no timeout parameters.
    expect(peer.framesOf('screenshot')).toEqual(['{"command":"screenshot"}']);
    expect(peer.framesOf('run_command')).toEqual(['{"command":"run_command","params":{"command":"false"}}']);
  });

  it('success:false becomes a clear error naming the command and the remote message; the connection stays usable', async () => {
    peer.handler = (req) => (req.command === 'type_text' ? { reply: { success: false, error: 'xdotool exploded' } } : undefined);
    const c = await connect();
    const e = await error(c.typeText('abc'));
    expect(e.code).toBe('COMPUTER_FAILED');
    expect(e.message).toMatch(/could not run "type_text": xdotool exploded/);
    expect(e.message).toContain(peer.url);
    await c.moveMouse({ x: 1, y: 1 });
    expect(peer.connections).toBe(1);
  });

  it('a slow reply times out naming the command, the connection is discarded, and the next request reconnects', async () => {
    peer.handler = (req) => (req.command === 'left_click' ? { silence: true } : undefined);
    const c = await connect({ requestTimeoutMs: 300 });
    const t0 = Date.now();
    const e = await error(c.click({ x: 1, y: 1 }, 'left', 1));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toMatch(/did not answer "left_click" within 300 ms/);
    await waitFor('the connection to be discarded', () => peer.closes === 1, 5000, 10);
    await c.moveMouse({ x: 2, y: 2 });
    expect(peer.connections).toBe(2);
    expect(peer.requests.at(-1)?.raw).toBe('{"command":"move_cursor","params":{"x":2,"y":2}}');
  });

  it('a reply with nothing pending (a second answer to one request) resets the connection; later requests still work', async () => {
    peer.handler = (req) => (req.command === 'move_cursor' ? { frames: ['{"success":true}', '{"success":true,"stray":1}'] } : undefined);
    const c = await connect();
    await c.moveMouse({ x: 3, y: 3 });
    await waitFor('the connection to be discarded', () => peer.closes === 1, 5000, 10);
    peer.handler = () => undefined;
    expect(await c.cursorPosition()).toEqual({ x: 1, y: 2 });
    expect(peer.connections).toBe(2);
  });

  it.each([
    ['not JSON', 'this is not json', /not JSON/],
    ['a JSON array', '[1,2]', /not a JSON object/],
    ['no success field', '{"ok":true}', /without a boolean "success"/],
  ])('a reply that is %s fails that request cleanly and resets the connection', async (_what, frame, why) => {
    peer.handler = (req) => (req.command === 'right_click' ? { raw: frame } : undefined);
    const c = await connect();
    const e = await error(c.click({ x: 4, y: 4 }, 'right', 1));
    expect(e.code).toBe('COMPUTER_FAILED');
    expect(e.message).toMatch(why);
    expect(e.message).toMatch(/"right_click"/);
    await waitFor('the connection to be discarded', () => peer.closes === 1, 5000, 10);
    peer.handler = () => undefined;
    await c.click({ x: 4, y: 4 }, 'right', 1);
    expect(peer.connections).toBe(2);
  });

  it('a frame over 10 MiB is refused and the connection reset', async () => {
    peer.handler = (req) => (req.command === 'screenshot' ? { raw: JSON.stringify({ success: true, image_data: 'A'.repeat(10 * 1024 * 1024 + 10) }) } : undefined);
    const c = await connect();
    const e = await error(c.capture());
    expect(e.code).toBe('COMPUTER_FAILED');
    expect(e.message).toMatch(/over the 10485760 byte limit/);
  });

  it('a server that drops the connection mid-request gives that request a clear error; the next one reconnects', async () => {
    peer.handler = (req) => (req.command === 'type_text' ? { close: true } : undefined);
    const c = await connect();
    const e = await error(c.typeText('x'));
    expect(e.code).toBe('COMPUTER_FAILED');
    expect(e.message).toMatch(/connection to .* closed/);
    peer.handler = () => undefined;
    await c.typeText('y');
    expect(peer.connections).toBe(2);
  });

  it('refused authentication is a clear error naming the settings to check', async () => {
    peer.handler = (req) => (req.command === 'authenticate' ? { reply: { success: false, error: 'Authentication failed' } } : undefined);
    const e = await error(connect({ apiKey: 'wrong' }));
    expect(e.code).toBe('COMPUTER_FAILED');
    expect(e.message).toMatch(/refused authentication: Authentication failed.*CUA_API_KEY/);
    expect(e.message).not.toContain('wrong');
  });

  it('falls back to POST /cmd when the server has no WebSocket, with the key in headers and the data: line parsed', async () => {
    peer.refuseWs = 404;
    peer.handler = (req) => (req.command === 'run_command' ? { reply: { success: true, stdout: 'via http\n', stderr: '', return_code: 0 } } : undefined);
    const c = await connect({ apiKey: 'k-9', containerName: 'box' });
    expect(c.info.transport).toBe('http');
    expect((await c.runCommand('echo via http')).stdout).toBe('via http\n');
    await c.click({ x: 10, y: 20 }, 'left', 1);
    const http = peer.requests.filter((r) => r.via === 'http');
    expect(http.map((r) => r.raw)).toEqual([
      '{"command":"version"}',
      '{"command":"get_screen_size"}',
      '{"command":"run_command","params":{"command":"echo via http"}}',
      '{"command":"left_click","params":{"x":10,"y":20}}',
    ]);
    expect(http.every((r) => r.headers?.['x-api-key'] === 'k-9' && r.headers?.['x-container-name'] === 'box')).toBe(true);
    peer.handler = (req) => (req.command === 'move_cursor' ? { raw: 'garbage without a data line' } : undefined);
    expect((await error(c.moveMouse({ x: 1, y: 1 }))).message).toMatch(/no "data: " line/);
  });

  it('adapts to an older server: drag falls back to start/end, vertical scroll to scroll_down', async () => {
    peer.handler = (req) => (req.command === 'drag' && req.params?.path ? { reply: { success: false, error: "drag() missing 4 required positional arguments: 'start_x'" } } : undefined);
    const c = await connect();
    await c.drag([{ x: 1, y: 2 }, { x: 30, y: 40 }], 'left');
    await c.drag([{ x: 5, y: 5 }, { x: 6, y: 6 }], 'left');
    await c.scroll({ x: 10, y: 10 }, 0, -2);
    expect(peer.framesOf('drag')).toEqual([
      '{"command":"drag","params":{"path":[[1,2],[30,40]],"button":"left"}}',
      '{"command":"drag","params":{"start_x":1,"start_y":2,"end_x":30,"end_y":40,"button":"left"}}',
      // Learnt once: the second drag goes straight to the older form.
      '{"command":"drag","params":{"start_x":5,"start_y":5,"end_x":6,"end_y":6,"button":"left"}}',
    ]);
    expect(peer.framesOf('scroll_up')).toEqual(['{"command":"scroll_up","params":{"clicks":2}}']);
  });

  it('checks points and keys before sending anything', async () => {
    const c = await connect();
    const before = peer.requests.length;
    // Points are the port's rule, checked for every provider by the CheckedComputer the registry hands out.
    expect(isDomainError(await error(new CheckedComputer(c).click({ x: 640, y: 0 }, 'left', 1)), 'INVALID_ARGUMENT')).toBe(true);
    expect((await error(c.pressKeys(['XF86MonBrightnessUp']))).code).toBe('COMPUTER_UNSUPPORTED');
    expect(peer.requests.length).toBe(before);
  });

  it('settle waits a fixed delay (the protocol has no change signal), at most the cap, without sending anything; it can be cancelled', async () => {
    const c = await connect({ settleDelayMs: 300 });
    const slow = await connect({ settleDelayMs: 5000 });
    const sent = peer.requests.length;
    const options = { since: performance.now(), quietMs: 50, firstChangeMs: 300, maxMs: 2000 };
    const full = await c.settle(options);
    expect(full).toEqual({ waitedMs: expect.any(Number), hitCap: false });
    expect(full.waitedMs).toBeGreaterThanOrEqual(299);
    const capped = await slow.settle({ ...options, maxMs: 100 });
    expect(capped.waitedMs).toBeGreaterThanOrEqual(99);
    expect(capped.waitedMs).toBeLessThan(5000);
    expect(peer.requests.length).toBe(sent);
    const ac = new AbortController();
    const cancelled = c.settle({ ...options, signal: ac.signal });
    ac.abort();
    expect((await error(cancelled)).code).toBe('CANCELLED');
  });

  it('holds keys down for the duration and releases them even when the hold is cancelled', async () => {
    const c = await connect();
    const ac = new AbortController();
    const hold = c.holdKeys(parseKeyCombo('shift+a'), 10_000, ac.signal);
    await waitFor('both keys down', () => peer.framesOf('key_down').length === 2, 5000, 10);
    ac.abort();
    expect((await error(hold)).code).toBe('CANCELLED');
    expect([...peer.framesOf('key_down'), ...peer.framesOf('key_up')]).toEqual([
      '{"command":"key_down","params":{"key":"shift"}}',
      '{"command":"key_down","params":{"key":"a"}}',
      '{"command":"key_up","params":{"key":"a"}}',
      '{"command":"key_up","params":{"key":"shift"}}',
    ]);
  });
});
