import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { parseKeyCombo } from '../src/computer/computer.module';
import { CuaComputer } from '../src/computer/cua/cua-computer.module';
import { call, imagesOf, textOf, upgradeStatus } from './support/app';
import { ComputerServerProcess, MainProcess, spawnComputerServer, spawnMain } from './support/computer-server-process';
import { waitFor } from './support/wait-for';

jest.setTimeout(180_000);

/** Raw RGB pixels of an encoded image. */
async function pixels(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
/** How many pixels differ between two same-sized images. */
async function changed(a: Buffer, b: Buffer): Promise<number> {
  const [pa, pb] = [await pixels(a), await pixels(b)];
  let n = 0;
  for (let i = 0; i < pa.data.length; i += 3) {
    if (pa.data[i] !== pb.data[i] || pa.data[i + 1] !== pb.data[i + 1] || pa.data[i + 2] !== pb.data[i + 2]) n++;
  }
  return n;
}

/**
 * The cua client against this project's own computer-server mode (real Xvfb desktops, over
 * loopback): every command with its effect seen in a screenshot, a file or the selection.
 */
describe('cua client against a real computer-server', () => {
  let server: ComputerServerProcess;
  let c: CuaComputer;
  const shot = async () => {
    const f = await c.capture();
    expect(f.kind).toBe('encoded');
    return f.data;
  };
  const sh = async (cmd: string) => (await c.runCommand(cmd, { timeoutMs: 10_000 })).stdout;
  const primary = () => sh('xclip -o -selection primary 2>/dev/null; true');
  /** The window manager has given the terminal the focus (after a click into it), so typing reaches it. */
  const terminalFocused = () => waitFor('the terminal to have the focus', async () => (await sh('xdotool getactivewindow getwindowname 2>/dev/null; true')).trim() === 'Terminal', 5000);

  beforeAll(async () => {
    server = await spawnComputerServer();
    c = await CuaComputer.connect({ url: server.url }, { requestTimeoutMs: 10_000 });
  });
  afterAll(async () => {
    await c?.close();
    await server?.stop();
  });

  it('detects the server and reads the screen', async () => {
    expect(c.info.transport).toBe('ws');
    expect(c.info.protocol).toBe(1);
    expect(c.info.commands).toEqual(expect.arrayContaining(['drag', 'scroll_direction', 'run_command', 'triple_click']));
    expect(await c.screenSize()).toEqual({ width: 800, height: 600 });
    const f = await c.capture();
    expect(f).toMatchObject({ width: 800, height: 600, mimeType: 'image/png' });
  });

  it('moves the pointer and reads it back', async () => {
    await c.moveMouse({ x: 123, y: 234 });
    expect(await c.cursorPosition()).toEqual({ x: 123, y: 234 });
  });

  it('a right click on the desktop opens the window manager menu (seen in the screenshot); Escape closes it', async () => {
    const before = await shot();
    // Left of the terminal window is the bare desktop (the root window).
    await c.click({ x: 15, y: 300 }, 'right', 1);
    const menu = await waitFor('the menu to show', async () => ((await changed(before, await shot())) > 1000 ? true : undefined), 5000);
    expect(menu).toBe(true);
    await c.pressKeys(parseKeyCombo('Escape'));
    await waitFor('the menu to close', async () => ((await changed(before, await shot())) < 50 ? true : undefined), 5000);
  });

  it('clicks into the terminal and types a command with shifted characters; Return runs it', async () => {
    await c.click({ x: 300, y: 250 }, 'left', 1);
    await terminalFocused();
    await c.typeText('echo typed-$((6*7)) > ~/typed.txt');
    await c.pressKeys(parseKeyCombo('Return'));
    expect(await waitFor('the typed command to run', async () => (await sh('cat ~/typed.txt 2>/dev/null')) || undefined, 5000)).toBe('typed-42\n');
  });

  it('hotkeys, held keys and BackSpace reach the terminal', async () => {
    await c.typeText('echo one');
    await c.pressKeys(parseKeyCombo('ctrl+u')); // clears the line
    await c.typeText('echo ');
    await c.setKeys(parseKeyCombo('shift'), true);
    await c.pressKeys(parseKeyCombo('a'));
    await c.setKeys(parseKeyCombo('shift'), false);
    await c.typeText('bcx');
    await c.pressKeys(parseKeyCombo('BackSpace'));
    await c.typeText(' > ~/keys.txt');
    await c.pressKeys(parseKeyCombo('Return'));
    expect(await waitFor('the keyed command to run', async () => (await sh('cat ~/keys.txt 2>/dev/null')) || undefined, 5000)).toBe('Abc\n');
  });

  it('double click, triple click, drag and button down/up select text in the terminal', async () => {
    await c.typeText('clear; for i in $(seq 1 60); do echo wordsel wordsel wordsel; done; touch ~/.wordsel-done');
    await c.pressKeys(parseKeyCombo('Return'));
    // The loop has run (a still screen alone could be the moment before its output began), then the screen settles.
    await waitFor('the loop to run', async () => ((await sh('test -e ~/.wordsel-done && echo done')) ? true : undefined), 10_000);
    await waitFor('the output', async () => ((await changed(await shot(), await shot())) === 0 ? true : undefined), 10_000);
    // One double click (one double_click request): its effect is waited for, never repeated.
    await c.click({ x: 52, y: 250 }, 'left', 2);
    await waitFor('a word selected', async () => {
      expect(await primary()).toBe('wordsel');
      return true;
    }, 10_000);
    // One triple click (one triple_click request, which our server lists) on the same line: once the
    // selection is no longer the double click's word, it is the whole line, asserted once. A triple
    // click that came apart (a double click, then a click of its own) would leave the word, or nothing.
    await c.click({ x: 52, y: 250 }, 'left', 3);
    const line = await waitFor('the selection to change from the word', async () => {
      const sel = await primary();
      expect(sel).not.toBe('wordsel'); // a failed wait shows what the selection held
      return sel || undefined;
    }, 10_000);
    expect(line).toBe('wordsel wordsel wordsel\n'); // xterm selects a line with its end
    await c.drag([{ x: 52, y: 150 }, { x: 200, y: 200 }, { x: 300, y: 300 }], 'left');
    const dragged = await waitFor('lines selected by the drag', async () => {
      const sel = await primary();
      expect(sel).toContain('wordsel\nwordsel');
      return sel;
    }, 10_000);
    await c.moveMouse({ x: 52, y: 300 });
    await c.mouseDown('left');
    await c.moveMouse({ x: 300, y: 400 });
    await c.mouseUp('left');
    await waitFor('other lines selected between button down and up', async () => {
      const sel = await primary();
      expect(sel).toContain('\n');
      expect(sel).not.toBe(dragged);
      return true;
    }, 10_000);
  });

  it('scrolling the terminal moves its scrollback (seen in the screenshot) and back', async () => {
    const bottom = await shot();
    await c.scroll({ x: 300, y: 300 }, 0, -5);
    await waitFor('the view to scroll up', async () => (await changed(bottom, await shot())) > 500, 10_000);
    await c.scroll({ x: 300, y: 300 }, 0, 5);
    await waitFor('the view to scroll back', async () => (await changed(bottom, await shot())) < 50, 10_000);
  });

  it('runs commands with exit codes, output and a time limit', async () => {
    expect(await c.runCommand('echo out; echo err >&2; exit 3')).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3, timedOut: false });
    const slow = await c.runCommand('sleep 5', { timeoutMs: 1000 });
    expect(slow).toMatchObject({ exitCode: null, timedOut: true });
    expect(await sh('echo still-here')).toBe('still-here\n');
  });

  it('sets the desktop clipboard (set_clipboard), which programs on the desktop then read', async () => {
    await c.setClipboard('from the client ✓ 中');
    expect(await sh('xclip -o -selection clipboard')).toBe('from the client ✓ 中');
  });

  it('holds a key for a while (key down, wait, key up)', async () => {
    const t0 = Date.now();
    await c.holdKeys(parseKeyCombo('shift'), 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await c.typeText('echo held > ~/held.txt');
    await c.pressKeys(parseKeyCombo('Return'));
    // Shift was released: the text arrived in lower case.
    expect(await waitFor('the command to run', async () => (await sh('cat ~/held.txt 2>/dev/null')) || undefined, 5000)).toBe('held\n');
  });
});

/**
 * COMPUTER_PROVIDER=cua end to end: the MCP server leasing two local computer-servers (with an
 * API key) to sessions of a real MCP client over Streamable HTTP.
 */
describe('COMPUTER_PROVIDER=cua through MCP', () => {
  const KEY = 'cua-e2e-key-0123456789abcdef';
  let servers: ComputerServerProcess[] = [];
  let main: MainProcess;
  let client: Client;

  const run = async (session: string, command: string) => {
    const r = await call(client, 'run_command', { session_id: session, command });
    if (r.isError) throw new Error(textOf(r));
    return (r.structuredContent as { stdout?: string } | undefined)?.stdout ?? textOf(r);
  };
  /** The provider's log lines, to explain a failure. */
  const providerLog = () => main.output().split('\n').filter((l) => l.includes('CuaComputerProvider')).join('\n');
  const logged = async <T>(p: Promise<T>) => {
    try {
      return await p;
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${providerLog()}`);
    }
  };
  const newSession = async () => {
    const r = await call(client, 'create_session', {});
    if (r.isError) throw new Error(textOf(r));
    return (r.structuredContent as { session_id?: string; id?: string }).session_id ?? (r.structuredContent as { id: string }).id;
  };

  beforeAll(async () => {
    servers = await Promise.all([spawnComputerServer({ apiKey: KEY }), spawnComputerServer({ apiKey: KEY })]);
    // Mark each desktop before any lease (so the marks are part of what a reset keeps).
    for (const [i, s] of servers.entries()) {
      const c = await CuaComputer.connect({ url: s.url, apiKey: KEY }, { requestTimeoutMs: 10_000 });
      await c.runCommand(`echo desk-${i} > ~/marker`);
      await c.close();
    }
    main = await spawnMain({
      COMPUTER_PROVIDER: 'cua',
      CUA_COMPUTER_URLS: servers.map((s) => s.url).join(','),
      CUA_API_KEY: KEY,
      CUA_REQUEST_TIMEOUT_MS: '5000',
      POOL_MIN_WARM: '0',
      POOL_ACQUIRE_TIMEOUT_MS: '3000',
      POOL_RETRY_BASE_MS: '200',
      POOL_RETRY_MAX_MS: '1000',
    });
    client = new Client({ name: 'cua-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(main.url)));
  });
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await main?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("a remote desktop's live view: the server offers WS /vnc to its key only, and live_view's page shows the desktop", async () => {
    const c = await CuaComputer.connect({ url: servers[0].url, apiKey: KEY }, { requestTimeoutMs: 10_000 });
    try {
      expect(c.supports('openVnc')).toBe(true);
      const rfb = await c.openVnc();
      const banner = await new Promise<string>((resolve, reject) => {
        rfb.once('data', (d: Buffer) => resolve(d.subarray(0, 12).toString('latin1')));
        rfb.once('error', reject);
      });
      rfb.destroy();
      expect(banner).toBe('RFB 003.008\n');
    } finally {
      await c.close();
    }
    const wrongKey = await upgradeStatus(servers[0].url.replace(/^http/, 'ws') + '/vnc', { 'x-api-key': 'not-the-key' });
    expect(wrongKey).toBe(401);

    const session = await newSession();
    const r = await call(client, 'live_view', { session_id: session });
    expect(r.isError).toBeFalsy();
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto((r.structuredContent as { url: string }).url);
      await waitFor('the live view of the remote desktop to watch', async () => (await page.locator('#status').innerText()).startsWith('Watching'), 15_000);
      // The desktop's picture arrived: its white terminal, not the black of an empty canvas.
      await waitFor('the terminal on the page', async () => {
        const { channels } = await sharp(await page.locator('#screen canvas').screenshot()).stats();
        return channels[0].mean > 60;
      }, 10_000);
    } finally {
      await browser.close();
      await call(client, 'cleanup_session', { session_id: session });
    }
  });

  it('refuses a wrong key with a clear error', async () => {
    await expect(CuaComputer.connect({ url: servers[0].url, apiKey: 'not-the-key' }, { requestTimeoutMs: 5000 })).rejects.toMatchObject({
      code: 'COMPUTER_FAILED',
      message: expect.stringMatching(/refused authentication.*CUA_API_KEY/),
    });
  });

  it('gives two sessions two different computers, a third a clear SESSION_LIMIT at once; resets between sessions; quarantines a dead server and takes it back when it returns', async () => {
    const s1 = await newSession();
    const s2 = await newSession();
    const m1 = (await run(s1, 'cat ~/marker')).trim();
    const m2 = (await run(s2, 'cat ~/marker')).trim();
    expect(new Set([m1, m2])).toEqual(new Set(['desk-0', 'desk-1']));

    // MAX_SESSIONS is unset, so it follows the pool's capacity: one session per URL. A third is refused at once
    // instead of waiting for a computer that cannot come.
    const third = await call(client, 'create_session', {});
    expect(third.isError).toBe(true);
    expect(textOf(third)).toMatch(/^\[SESSION_LIMIT\] The server already has its maximum of 2 sessions \(MAX_SESSIONS\)/);

    // A screenshot of a remote desktop comes through MCP like any other.
    const shot = await call(client, 'screenshot_cua', { session_id: s1 });
    expect(imagesOf(shot)).toHaveLength(1);
    expect(textOf(shot)).toMatch(/800x600|800 ?× ?600/);

    // Session 1 leaves files and a window behind.
    await run(s1, 'mkdir -p ~/work/deep && echo x > ~/work/deep/f && echo y > /tmp/made-by-s1 && echo z > ~/notes.txt');
    const act = async (args: Record<string, unknown>) => {
      const r = await call(client, 'computer', { session_id: s1, screenshot: false, ...args });
      if (r.isError) throw new Error(textOf(r));
    };
    await act({ action: 'left_click', coordinate: [300, 250] });
    await waitFor('the terminal to have the focus', async () => (await run(s1, 'xdotool getactivewindow getwindowname 2>/dev/null; true')).trim() === 'Terminal', 5000);
    await act({ action: 'type', text: 'xterm -title LeftBehind &' });
    await act({ action: 'key', text: 'Return' });
    // Visible (mapped) means the window manager manages it, as a real window a user would see.
    await waitFor('the extra window', async () => ((await run(s1, 'xdotool search --onlyvisible --name LeftBehind')).trim() ? true : undefined), 10_000);
    // An application opened with run_command background=true goes through the server's launch and keeps its window.
    const launched = await call(client, 'run_command', { session_id: s1, command: 'xterm -title Launched', background: true });
    expect(textOf(launched)).toMatch(/started in the background/);
    await waitFor('the launched window', async () => ((await run(s1, 'xdotool search --onlyvisible --name Launched')).trim() ? true : undefined), 10_000);

    const cleaned = await call(client, 'cleanup_session', { session_id: s1 });
    expect(cleaned.isError).toBeFalsy();
    // The freed computer is reset before anyone gets it: once it is free again, one new session gets it.
    await waitFor('the freed computer to be reset and free', async () => (await (await fetch(main.url.replace('/mcp', '/metrics'))).text()).includes('cua_remote_computers{state="free"} 1'), 15_000);
    const s4 = await newSession();
    expect((await run(s4, 'cat ~/marker')).trim()).toBe(m1);
    const after = await run(s4, 'ls ~ /tmp; echo windows: $(xdotool search --name "^(LeftBehind|Launched)$")');
    expect(after).not.toMatch(/work|notes\.txt|made-by-s1/);
    expect(after).toMatch(/marker/);
    expect(after).toMatch(/windows: *$/m);
    expect(main.output()).toMatch(/Reset http:\/\/127\.0\.0\.1:\d+ after cua-\w+: 2 windows closed, 3 files or folders removed/);

    // The computer-server of session 2 dies mid-task.
    const dead = servers[m2 === 'desk-0' ? 0 : 1];
    dead.proc.kill('SIGKILL');
    await dead.exited;
    const failed = await call(client, 'run_command', { session_id: s2, command: 'echo hello' });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toMatch(/COMPUTER_FAILED|TIMEOUT/);
    expect(textOf(failed)).toContain(dead.url);
    await call(client, 'cleanup_session', { session_id: s2 });
    await logged(waitFor('the dead endpoint quarantined', () => (new RegExp(`${dead.url}: leased → quarantined`).test(main.output()) ? true : undefined), 20_000));
    // While it is quarantined, the pool has one usable computer, and it is taken: a clear error, readiness unaffected.
    const busy = await call(client, 'create_session', {});
    expect(busy.isError).toBe(true);
    expect(textOf(busy)).toMatch(/POOL_EXHAUSTED/);
    const ready = await fetch(main.url.replace('/mcp', '/health/ready'));
    expect(ready.status).toBe(200);
    // Metrics show it: one endpoint quarantined, the other leased.
    const metrics = await (await fetch(main.url.replace('/mcp', '/metrics'))).text();
    expect(metrics).toContain('cua_remote_computers{state="quarantined"} 1');
    expect(metrics).toContain('cua_remote_computers{state="leased"} 1');
    expect(metrics).toContain('cua_remote_computers{state="free"} 0');

    // It comes back on the same port: the probe returns it to service.
    const again = await spawnComputerServer({ apiKey: KEY, port: dead.port });
    servers[servers.indexOf(dead)] = again;
    await logged(waitFor('the endpoint back in service', () => (new RegExp(`${dead.url}: quarantined → free`).test(main.output()) ? true : undefined), 60_000));
    const s5 = await newSession();
    expect(await run(s5, 'echo alive')).toBe('alive\n');
    // The key was never logged.
    expect(main.output()).not.toContain(KEY);
  });
});
