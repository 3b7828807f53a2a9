import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../../config/config.module';
import { COMPUTER_SETTINGS } from '../computer.settings';
import { XVFB_SETTINGS } from './xvfb.settings';
import { isDomainError } from '../../common/domain-error';
import { keysymForCodePoint } from './keyboard-map';
import { locatePrograms } from './programs';
import { confine, Sandbox, SANDBOX_HOME, SANDBOX_XAUTHORITY } from './sandbox';
import { bgrxToRgb } from './x11-connection';
import { xauthorityEntry } from './xauthority';
import { XvfbComputerProvider } from './xvfb-computer.provider';
import { planText } from './xtest-input';

/** Fast checks of the pieces that need no display. */
describe('xvfb provider parts', () => {
  it('writes an Xauthority entry libXau and Xvfb read: FamilyWild, MIT-MAGIC-COOKIE-1, 16-byte cookie', () => {
    const cookie = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const e = xauthorityEntry(cookie);
    expect(e.readUInt16BE(0)).toBe(0xffff);
    expect(e.readUInt16BE(2)).toBe(0); // address
    expect(e.readUInt16BE(4)).toBe(0); // display number: any
    expect(e.readUInt16BE(6)).toBe(18);
    expect(e.subarray(8, 26).toString('latin1')).toBe('MIT-MAGIC-COOKIE-1');
    expect(e.readUInt16BE(26)).toBe(16);
    expect(e.subarray(28)).toEqual(cookie);
  });

  it('converts BGRX pixels to RGB', () => {
    const src = Buffer.from([1, 2, 3, 0, 10, 20, 30, 255]);
    expect([...bgrxToRgb(src, 2)]).toEqual([3, 2, 1, 30, 20, 10]);
  });

  it('converts BGRX to RGB the same way on the fast (word) path, for every length and offset', () => {
    for (const pixels of [1, 3, 4, 5, 8, 13, 1000]) {
      for (const offset of [0, 1, 4]) {
        const backing = Buffer.alloc(pixels * 4 + 8);
        const src = backing.subarray(offset, offset + pixels * 4);
        for (let i = 0; i < src.length; i++) src[i] = (i * 37 + offset) & 255;
        const expected = Buffer.alloc(pixels * 3);
        for (let p = 0; p < pixels; p++) expected.set([src[p * 4 + 2], src[p * 4 + 1], src[p * 4]], p * 3);
        expect(bgrxToRgb(src, pixels)).toEqual(expected);
      }
    }
  });

  it('plans text as keysyms: Latin-1 as is, other characters as Unicode keysyms, newline as Return', () => {
    const plan = planText('aZ é€中\r\n\t');
    expect(plan.map((p) => p.keysym)).toEqual([0x61, 0x5a, 0x20, 0xe9, 0x10020ac, 0x1004e2d, 0xff0d, 0xff09]);
    expect(plan[4].alt).toEqual([0x20ac]); // EuroSign, in case a layout has it
    expect(keysymForCodePoint(0x1f600)).toBe(0x101f600);
  });

  it('rejects control characters before typing anything', () => {
    expect(() => planText('ok\u0007')).toThrow(/control character U\+0007/);
    try {
      planText('\u0001');
    } catch (e) {
      expect(isDomainError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('sandboxes with no network by default, only its own X socket and cookie, and dies with the server', () => {
    const programs = { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', choom: '/usr/bin/choom', setpriv: '/usr/bin/setpriv' };
    const spec = { programs, homeDir: '/h', tmpDir: '/t', etcDir: '/e', xauthorityFile: '/x/Xauthority', display: 42, limits: { maxProcesses: 100, maxFileBytes: 4096 } };
    const args = new Sandbox({ ...spec, network: { kind: 'none' } }).args(['/bin/true'], 3);
    const joined = args.join(' ');
    expect(args).toContain('--unshare-all');
    expect(args).not.toContain('--share-net');
    expect(args).toContain('--die-with-parent');
    expect(args).toContain('--new-session');
    expect(joined).toContain('--hostname desktop');
    expect(joined).toContain('--bind /t /tmp');
    expect(joined).toContain(`--bind /h ${SANDBOX_HOME}`);
    expect(joined).toContain('--ro-bind /tmp/.X11-unix/X42 /tmp/.X11-unix/X42');
    expect(joined).toContain(`--ro-bind /x/Xauthority ${SANDBOX_XAUTHORITY}`);
    expect(joined).not.toMatch(/--(ro-)?bind \/tmp\/\.X11-unix /); // never the whole socket folder
    // Never the host's whole /etc: only listed entries, and the computer's own identity files.
    expect(joined).not.toMatch(/--ro-bind \/etc \/etc/);
    expect(joined).toContain('--remount-ro /'); // nothing writable but home and /tmp
    for (const name of ['passwd', 'group', 'hosts', 'hostname']) expect(joined).toContain(`--ro-bind /e/${name} /etc/${name}`);
    expect(joined).not.toMatch(/\/etc\/(shadow|sudoers|npmrc|gitconfig|pip\.conf|resolv\.conf)/);
    // The limits apply inside, before the program starts.
    expect(args.slice(-6)).toEqual(['--', '/usr/bin/prlimit', '--nproc=100:100', '--fsize=4096:4096', '--', '/bin/true']);
    const host = new Sandbox({ ...spec, network: { kind: 'host' } }).args(['/bin/true'], 3);
    expect(host).toContain('--share-net');
    expect(host.join(' ')).toContain('--ro-bind /etc/resolv.conf /etc/resolv.conf');
    expect(new Sandbox({ ...spec, network: { kind: 'none' } }).env()).toEqual({
      PATH: expect.any(String),
      HOME: SANDBOX_HOME,
      USER: 'user',
      LOGNAME: 'user',
      DISPLAY: ':42',
      XAUTHORITY: SANDBOX_XAUTHORITY,
      LANG: 'C.UTF-8',
    });
  });

  it("joins its computer's egress network as the server, before dropping to the host user, and keeps no namespace descriptor", () => {
    const programs = { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', choom: '/usr/bin/choom', setpriv: '/usr/bin/setpriv' };
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-net-'));
    try {
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
      const spec = { programs, homeDir: '/h', tmpDir: '/t', etcDir: '/e', xauthorityFile: '/x/Xauthority', display: 42, limits: { maxProcesses: 100 }, hostUser: { uid: 50007 } };
      const joined = { kind: 'joined' as const, nsenter: '/usr/bin/nsenter', netFd: 31, resolvConf: join(dir, 'resolv.conf') };
      const sut = new Sandbox({ ...spec, network: joined });
      const args = sut.args(['/bin/true'], 3);
      // bwrap keeps the namespace it starts in (the computer's), and the computer's resolver configuration.
      expect(args).toContain('--share-net');
      expect(args.join(' ')).toContain(`--ro-bind ${join(dir, 'resolv.conf')} /etc/resolv.conf`);
      const [file, line] = sut.commandLine(['/bin/true'], 3);
      expect(file).toBe('/usr/bin/choom');
      const enter = line.indexOf('/usr/bin/nsenter');
      expect(line.slice(enter, enter + 8)).toEqual(['/usr/bin/nsenter', '--net=/proc/self/fd/4', '--', '/bin/sh', '-c', 'exec 4<&-; exec "$@"', 'cua-netns-enter', '/usr/bin/prlimit']);
      expect(line.indexOf('/usr/bin/setpriv')).toBeGreaterThan(enter);
      // A non-root server enters the user namespace that owns it too.
      const [, nonRoot] = new Sandbox({ ...spec, hostUser: undefined, network: { ...joined, userFd: 32 } }).commandLine(['/bin/true'], 3);
      expect(nonRoot).toEqual(expect.arrayContaining(['--net=/proc/self/fd/4', '--user=/proc/self/fd/5', '--preserve-credentials', 'exec 4<&- 5<&-; exec "$@"']));
      expect(nonRoot).not.toContain('/usr/bin/setpriv');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the VNC server's sandbox joins its X server's IPC namespace (and nothing else of it), keeping every other namespace its own", () => {
    const programs = { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', choom: '/usr/bin/choom', setpriv: '/usr/bin/setpriv' };
    const spec = { programs, homeDir: '/h', tmpDir: '/t', etcDir: '/e', xauthorityFile: '/x/Xauthority', display: 42, limits: { maxProcesses: 100 }, hostUser: { uid: 50007 }, network: { kind: 'none' as const } };
    const ipc = { kind: 'joined' as const, nsenter: '/usr/bin/nsenter', ipcFd: 31 };
    const sut = new Sandbox({ ...spec, ipc });
    const args = sut.args(['/bin/true'], 3);
    // Every namespace --unshare-all would make, but the IPC one; no network at all.
    expect(args).toEqual(expect.arrayContaining(['--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', '--unshare-net', '--unshare-user']));
    expect(args).not.toContain('--unshare-all');
    expect(args).not.toContain('--unshare-ipc');
    expect(args).not.toContain('--share-net');
    const [, line] = sut.commandLine(['/bin/true'], 3);
    const enter = line.indexOf('/usr/bin/nsenter');
    expect(line.slice(enter, enter + 8)).toEqual(['/usr/bin/nsenter', '--ipc=/proc/self/fd/4', '--', '/bin/sh', '-c', 'exec 4<&-; exec "$@"', 'cua-ipcns-enter', '/usr/bin/prlimit']);
    expect(line.indexOf('/usr/bin/setpriv')).toBeGreaterThan(enter);
    // A non-root server enters the user namespace that owns it too.
    const [, nonRoot] = new Sandbox({ ...spec, hostUser: undefined, ipc: { ...ipc, userFd: 32 } }).commandLine(['/bin/true'], 3);
    expect(nonRoot).toEqual(expect.arrayContaining(['--ipc=/proc/self/fd/4', '--user=/proc/self/fd/5', '--preserve-credentials', 'exec 4<&- 5<&-; exec "$@"']));
    // Both a joined network and a joined IPC namespace cannot be entered (they belong to different user namespaces).
    expect(() => new Sandbox({ ...spec, ipc, network: { kind: 'joined', nsenter: '/usr/bin/nsenter', netFd: 33, resolvConf: '/r' } }).commandLine(['/bin/true'], 3)).toThrow(/either its network or its X server's IPC namespace/);
  });

  it('starts sandboxes in the computer\'s control groups, OOM-first, and as its host user when the server is root', () => {
    const programs = { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', choom: '/usr/bin/choom', setpriv: '/usr/bin/setpriv' };
    const limits = { maxProcesses: 100 };
    const [file, args] = confine({ programs, limits, hostUser: { uid: 50007 }, cgroupDirs: ['/cg/memory/x', '/cg/pids/x'] }, ['/usr/bin/bwrap', '--', 'prog']);
    expect(file).toBe('/bin/sh');
    expect(args.slice(2, 6)).toEqual(['cua-cgroup-join', '2', '/cg/memory/x', '/cg/pids/x']);
    expect(args.slice(6)).toEqual([
      '/usr/bin/choom', '-n', '1000', '--',
      '/usr/bin/prlimit', '--nproc=100:100', '--',
      '/usr/bin/setpriv', '--reuid', '50007', '--regid', '50007', '--clear-groups', '--',
      '/usr/bin/bwrap', '--', 'prog',
    ]);
    // A non-root server: no user switch, no control groups.
    expect(confine({ programs, limits }, ['/usr/bin/bwrap', '--', 'prog'])).toEqual(['/usr/bin/choom', ['-n', '1000', '--', '/usr/bin/bwrap', '--', 'prog']]);
  });

  it('checkReady names the missing Debian packages and the fake provider as the alternative', async () => {
    class NothingInstalled extends XvfbComputerProvider {
      protected override locatePrograms(): ReturnType<typeof locatePrograms> {
        return { paths: {}, missing: ['Xvfb', 'bwrap'] };
      }
    }
    const provider = new NothingInstalled(Settings.load({}).get(COMPUTER_SETTINGS), Settings.load({}).get(XVFB_SETTINGS));
    const err: unknown = await provider.checkReady().catch((e: unknown) => e);
    expect(isDomainError(err, 'COMPUTER_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/Xvfb, bwrap/);
    expect((err as Error).message).toMatch(/apt-get install .*xvfb bubblewrap/);
    expect((err as Error).message).toMatch(/COMPUTER_PROVIDER=fake/);
    await expect(provider.create({})).rejects.toThrow(/not installed/);
  });
});
