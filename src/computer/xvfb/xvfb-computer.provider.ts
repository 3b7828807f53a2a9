import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { DomainError, DomainErrorCode } from '../../common/domain-error';
import { AppConfig } from '../../config/config.module';
import { ComputerProvider, CreateComputerOptions } from '../computer.port';
import { RegisterComputerProvider } from '../computer-provider.registry';
import { locatePrograms, ProgramPaths, REQUIRED_PROGRAMS } from './programs';
import { XvfbComputer } from './xvfb-computer';

/** The host uid (and gid) sandboxes run as when the server runs as root: `nobody`. */
export const SANDBOX_HOST_UID = 65534;

/**
 * COMPUTER_PROVIDER=xvfb: real X11 desktops on this machine, one Xvfb display each, with
 * openbox and xterm, sandboxed with bubblewrap (see XvfbComputer).
 */
@Injectable()
@RegisterComputerProvider()
export class XvfbComputerProvider extends ComputerProvider implements OnApplicationShutdown {
  readonly name = 'xvfb';
  private programs: ProgramPaths | undefined;
  private sandboxUser: { uid: number | undefined } | undefined;
  private readonly log = new Logger('XvfbComputerProvider');
  private readonly open = new Set<XvfbComputer>();

  constructor(private readonly config: AppConfig) {
    super();
  }

  /** Checks that every program is installed and that bubblewrap can create a sandbox here. */
  override async checkReady(): Promise<void> {
    this.resolvePrograms();
    this.resolveSandboxUid();
    const probe = spawnSync(this.programs!.bwrap, ['--unshare-all', '--unshare-user', '--uid', '1000', '--gid', '1000', '--as-pid-1', '--die-with-parent', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--', 'true'], {
      timeout: 10_000,
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
    });
    if (probe.status !== 0) {
      throw new DomainError(
        DomainErrorCode.COMPUTER_FAILED,
        `bubblewrap (bwrap) cannot create a sandbox on this machine: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()}. ` +
          'It needs user namespaces (or root) and a /proc it may mount (in a Kubernetes container: hostUsers: false and procMount: Unmasked, ' +
          'see the README). Enable them, or set COMPUTER_PROVIDER=fake to run without real desktops.',
      );
    }
  }

  private resolvePrograms(): ProgramPaths {
    if (this.programs) return this.programs;
    const { paths, missing } = this.locatePrograms();
    if (missing.length) {
      const packages = [...new Set(missing.map((m) => REQUIRED_PROGRAMS[m]))];
      throw new DomainError(
        DomainErrorCode.COMPUTER_FAILED,
        `The xvfb computer provider needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed. ` +
          `Install the Debian packages: apt-get install -y --no-install-recommends ${packages.join(' ')} ` +
          '(plus fonts-dejavu-core for readable text), or set COMPUTER_PROVIDER=fake to run without real desktops.',
      );
    }
    this.programs = paths as ProgramPaths;
    return this.programs;
  }

  /**
   * As root, sandboxes run as an unprivileged host user (SANDBOX_HOST_UID, through setpriv), so
   * their programs cannot read root-only files such as /etc/shadow in the read-only system
   * folders. Needs user namespaces for unprivileged users; without them (or without setpriv) the
   * sandboxes run as root's user namespace, with a warning.
   */
  private resolveSandboxUid(): number | undefined {
    if (this.sandboxUser) return this.sandboxUser.uid;
    const programs = this.resolvePrograms();
    let uid: number | undefined;
    if (process.getuid?.() === 0) {
      const probe = programs.setpriv
        ? spawnSync(programs.setpriv, ['--reuid', String(SANDBOX_HOST_UID), '--regid', String(SANDBOX_HOST_UID), '--clear-groups', '--', programs.bwrap, '--unshare-all', '--unshare-user', '--uid', '1000', '--gid', '1000', '--as-pid-1', '--die-with-parent', '--ro-bind', '/', '/', '--', 'true'], {
            timeout: 10_000,
            encoding: 'utf8',
            env: { PATH: '/usr/bin:/bin' },
          })
        : undefined;
      if (probe?.status === 0) uid = SANDBOX_HOST_UID;
      else {
        this.log.warn(
          `The server runs as root and cannot start sandboxes as an unprivileged user (${programs.setpriv ? (probe?.stderr || probe?.error?.message || `exit ${probe?.status}`).trim() : 'setpriv is not installed'}): ` +
            'programs in the desktops can read root-only files of the system folders (e.g. /etc/shadow). Run the server as a non-root user, or allow unprivileged user namespaces.',
        );
      }
    }
    this.sandboxUser = { uid };
    return uid;
  }

  /** Finds the programs on this machine (a seam for tests). */
  protected locatePrograms(): ReturnType<typeof locatePrograms> {
    return locatePrograms();
  }

  async create(options: CreateComputerOptions): Promise<XvfbComputer> {
    const c = this.config.computer;
    let computer: XvfbComputer | undefined = undefined;
    computer = await XvfbComputer.start(
      {
        id: `xvfb-${randomUUID().slice(0, 8)}`,
        width: c.screenWidth,
        height: c.screenHeight,
        network: c.network,
        commandTimeoutMs: c.commandTimeoutMs,
        commandOutputLimitBytes: c.commandOutputLimitBytes,
        programs: this.resolvePrograms(),
        sandboxUid: this.resolveSandboxUid(),
        onClose: () => computer && this.open.delete(computer),
      },
      options.signal,
    );
    this.open.add(computer);
    return computer;
  }

  /** Computers made by this provider and not yet closed. */
  openComputers(): XvfbComputer[] {
    return [...this.open];
  }

  /** Closes every computer still open when the app stops. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.open].map((c) => c.close()));
  }
}
