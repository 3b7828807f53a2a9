import { chown, mkdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { sleep } from '../../common/async';
import { DomainError, DomainErrorCode, abortReason } from '../../common/domain-error';
import { Sandbox, SandboxedProcess, type SandboxIpc, type SandboxSpec } from './sandbox';

/** How long x0vncserver may take to listen (measured: ~25 ms in its sandbox). */
const START_TIMEOUT_MS = 5_000;
/** x0vncserver ends itself once no viewer has been connected for this long (seconds): a reload or a second viewer soon after reuses it. */
const LINGER_S = 60;
const RETRY_MS = 15;
/** The socket's path inside x0vncserver's sandbox (its /tmp is the VNC folder). */
const SOCKET_INSIDE = '/tmp/vnc.sock';

/**
 * A desktop's VNC server, started when the first viewer connects: TigerVNC's x0vncserver attached
 * to the display as an X client (the display server stays Xvfb; nothing runs while nobody
 * watches). It runs in a sandbox like the desktop's programs, as the computer's user, with no
 * network and only the display's socket and a folder of its own, where it listens on a unix
 * socket: no TCP port (`-rfbport -1`), and neither the desktop's programs nor other computers
 * can see the folder. Viewers' input is filtered by the live view's bridge, not by its flags.
 * Given the X server's IPC namespace (`ipc`), it reads the screen through shared memory (MIT-SHM),
 * which answers a new viewer sooner (BENCHMARKS.md, Live view); without it, over the X socket.
 * It serves every viewer at once (connections are always shared) and stops itself LINGER_S
 * after the last one leaves; close() stops it with the computer.
 */
export class OnDemandVnc {
  private server: SandboxedProcess | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly program: string,
    /** The computer's folder: the VNC folder is made in it. */
    private readonly root: string,
    /** The desktop sandbox's spec: the same confinement, display and cookie. */
    private readonly spec: SandboxSpec,
    private readonly hostUid: number | undefined,
    /** The X server's IPC namespace to join, for shared memory with it; unset: a namespace of its own, no shared memory. */
    private readonly ipc?: SandboxIpc,
  ) {}

  private get dir(): string {
    return join(this.root, 'vnc');
  }

  /** A new RFB connection to the desktop (starting the server first when it is not running). */
  async connect(signal?: AbortSignal): Promise<Socket> {
    if (this.closed) throw new DomainError(DomainErrorCode.COMPUTER_FAILED, 'The computer was closed.');
    if (!this.server?.process.running) {
      this.starting ??= this.start(signal).finally(() => (this.starting = undefined));
      await this.starting;
    }
    return this.dial(Date.now() + START_TIMEOUT_MS, signal);
  }

  private async start(signal?: AbortSignal): Promise<void> {
    await mkdir(this.dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    if (this.hostUid !== undefined) await chown(this.dir, this.hostUid, this.hostUid);
    const sandbox = new Sandbox({ ...this.spec, homeDir: this.dir, tmpDir: this.dir, network: { kind: 'none' }, ipc: this.ipc });
    this.server = sandbox.spawn('vnc server', [
      this.program,
      '-display', `:${this.spec.display}`,
      '-rfbport', '-1',
      '-rfbunixpath', SOCKET_INSIDE,
      '-rfbunixmode', '0600',
      '-SecurityTypes', 'None',
      '-AlwaysShared=1',
      // In an IPC namespace of its own, shared memory with the X server cannot work.
      `-UseSHM=${this.ipc ? 1 : 0}`,
      '-AcceptSetDesktopSize=0',
      `-MaxDisconnectionTime=${LINGER_S}`,
    ]);
    if (signal?.aborted) throw abortReason(signal, 'Starting the VNC server');
  }

  /** Connects to the socket, retrying while the server is still starting, until `deadline`. */
  private async dial(deadline: number, signal?: AbortSignal): Promise<Socket> {
    const path = join(this.dir, 'vnc.sock');
    for (;;) {
      try {
        return await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => {
            s.removeListener('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const exited = this.server !== undefined && !this.server.process.running;
        if (exited || (code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() >= deadline) {
          throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `The desktop's VNC server did not answer (${exited ? 'it exited' : (code ?? 'no answer')}).`, { cause: e });
        }
        await sleep(RETRY_MS, signal);
      }
    }
  }

  /** Stops the server; no new connection is made afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.server?.kill();
  }
}
