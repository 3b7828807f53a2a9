import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainError, DomainErrorCode, errorMessage } from '../../common/domain-error';
import { InjectSettings } from '../../config/config.module';
import { COMPUTER_SETTINGS, type ComputerSettings } from '../computer.settings';
import { XVFB_SETTINGS, type XvfbSettings } from './xvfb.settings';
import { ComputerProvider, CreateComputerOptions } from '../computer.port';
import { RegisterComputerProvider } from '../computer-provider.registry';
import { ComputerCgroups } from './computer-cgroups';
import { DesktopProfile, MinimalDesktop, StandardDesktop } from './desktop-profile';
import { DesktopProfileRegistry } from './desktop-profile.registry';
import { HostUids } from './host-uids';
import { EgressNetwork, hostResolvers, locateEgressPrograms, NetworkChoice } from './network/egress-network';
import { locatePrograms, ProgramPaths, REQUIRED_PROGRAMS } from './programs';
import { removeStaleWorkspaces } from './workspace';
import { XvfbComputer } from './xvfb-computer';

/**
 * COMPUTER_PROVIDER=xvfb: real X11 desktops on this machine, one Xvfb display each, with
 * openbox and xterm, sandboxed with bubblewrap (see XvfbComputer).
 */
@Injectable()
@RegisterComputerProvider()
export class XvfbComputerProvider extends ComputerProvider implements OnModuleInit, OnApplicationShutdown {
  readonly name = 'xvfb';
  private programs: ProgramPaths | undefined;
  /** Root servers: one host uid per computer (see resolveHostUids). */
  private hostUids: { uids: HostUids | undefined } | undefined;
  private cgroups: Promise<ComputerCgroups | undefined> | undefined;
  private network: Promise<NetworkChoice> | undefined;
  private lastResolverWarning = 0;
  private readonly log = new Logger('XvfbComputerProvider');
  private readonly open = new Set<XvfbComputer>();

  constructor(
    @InjectSettings(COMPUTER_SETTINGS) private readonly computer: ComputerSettings,
    @InjectSettings(XVFB_SETTINGS) private readonly xvfb: XvfbSettings,
    /** Registered profiles; without the registry (a bare provider in unit specs) the built-in ones. */
    @Optional() private readonly profiles?: DesktopProfileRegistry,
  ) {
    super();
  }

  /** The desktop profile DESKTOP_PROFILE names. */
  profile(): DesktopProfile {
    if (this.profiles) return this.profiles.active();
    const builtIn = [new StandardDesktop(), new MinimalDesktop()].find((p) => p.name === this.xvfb.desktopProfile);
    if (!builtIn) throw new DomainError(DomainErrorCode.INVALID_ARGUMENT, `DESKTOP_PROFILE=${this.xvfb.desktopProfile} is not a built-in desktop profile (standard, minimal).`);
    return builtIn;
  }

  /** Checks that every program is installed and that bubblewrap can create a sandbox here. */
  override async checkReady(): Promise<void> {
    this.resolvePrograms();
    this.resolveHostUids();
    await this.resolveCgroups();
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
          'see docs/kubernetes.md). Enable them, or set COMPUTER_PROVIDER=fake to run without real desktops.',
      );
    }
    await this.resolveNetwork();
  }

  private resolvePrograms(): ProgramPaths {
    if (this.programs) return this.programs;
    const profile = this.profile();
    const { paths, missing } = this.locatePrograms(profile.programs);
    if (missing.length) {
      const packageOf = (m: string) => (REQUIRED_PROGRAMS as Record<string, string>)[m] ?? profile.programs[m];
      const packages = [...new Set(missing.map(packageOf))];
      throw new DomainError(
        DomainErrorCode.COMPUTER_FAILED,
        `The xvfb computer provider with the ${profile.name} desktop needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed. ` +
          `Install the Debian packages: apt-get install -y --no-install-recommends ${packages.join(' ')} ` +
          '(plus fonts-dejavu-core for readable text; bash scripts/setup.sh installs them all)' +
          (profile.name === 'minimal' ? '' : ', or set DESKTOP_PROFILE=minimal for the lightest desktop') +
          ', or set COMPUTER_PROVIDER=fake to run without real desktops.',
      );
    }
    this.programs = paths as ProgramPaths;
    return this.programs;
  }

  /**
   * As root, every computer runs as a host user of its own from SANDBOX_UID_BASE … (through
   * setpriv), so its programs cannot read root-only files of the system folders, and cannot count
   * against, signal or read another computer's processes. Needs user namespaces for unprivileged
   * users; without them (or setpriv) the server refuses to start desktops as root.
   */
  private resolveHostUids(): HostUids | undefined {
    if (this.hostUids) return this.hostUids.uids;
    const programs = this.resolvePrograms();
    let uids: HostUids | undefined;
    if (process.getuid?.() === 0) {
      const { base, count } = this.xvfb.sandboxUids;
      const probe = programs.setpriv
        ? spawnSync(programs.setpriv, ['--reuid', String(base), '--regid', String(base), '--clear-groups', '--', programs.bwrap, '--unshare-all', '--unshare-user', '--uid', '1000', '--gid', '1000', '--as-pid-1', '--die-with-parent', '--ro-bind', '/', '/', '--', 'true'], {
            timeout: 10_000,
            encoding: 'utf8',
            env: { PATH: '/usr/bin:/bin' },
          })
        : undefined;
      if (probe?.status !== 0) {
        throw new DomainError(
          DomainErrorCode.COMPUTER_FAILED,
          `The server runs as root and cannot start desktops as an unprivileged host user (uid ${base}, SANDBOX_UID_BASE): ` +
            `${programs.setpriv ? (probe?.stderr || probe?.error?.message || `exit ${probe?.status}`).trim() : 'setpriv (util-linux) is not installed'}. ` +
            'Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), pick a SANDBOX_UID_BASE inside this container\'s uid mapping, or run the server as a non-root user.',
        );
      }
      uids = new HostUids(base, count);
    }
    this.hostUids = { uids };
    return uids;
  }

  /** Per-computer control groups (root, cgroup v1 writable); otherwise only rlimits and the OOM score protect (logged once). */
  private resolveCgroups(): Promise<ComputerCgroups | undefined> {
    this.cgroups ??= (async () => {
      if (process.getuid?.() !== 0) {
        this.log.warn('Per-computer memory limits need control groups, which a non-root server cannot create: SESSION_MAX_MEMORY_MB is not enforced; the OOM killer takes desktop processes first. See docs/security.md.');
        return undefined;
      }
      const { cgroups, reason } = await ComputerCgroups.open();
      if (!cgroups) this.log.warn(`Per-computer memory and process limits by control groups are off (${reason}): SESSION_MAX_MEMORY_MB is not enforced; the OOM killer takes desktop processes first. See docs/security.md.`);
      return cgroups;
    })();
    return this.cgroups;
  }

  /**
   * What the computers' programs reach (COMPUTER_NETWORK), decided once. Egress is tried for
   * real — a network started and closed again, as a computer's host user — because what it needs
   * (pasta, nftables, /dev/net/tun, user namespaces) can be missing in ways only a start shows.
   * When it cannot work, an operator's explicit choice stops the server with the reason; the
   * default falls back to no network (never to the host's), with a warning.
   */
  private resolveNetwork(): Promise<NetworkChoice> {
    this.network ??= (async (): Promise<NetworkChoice> => {
      const n = this.xvfb.network;
      if (n.mode === 'on') {
        this.log.warn('COMPUTER_NETWORK=on: desktops share this host\'s network, with this server\'s own port, everything on its loopback and whatever the host can reach (cloud metadata, the cluster). Use it only for one trusted user; COMPUTER_NETWORK=egress gives them the internet without that.');
        return 'on';
      }
      if (n.mode === 'off') return 'off';
      const programs = this.resolvePrograms();
      const uids = this.resolveHostUids();
      const { programs: egress, missing } = locateEgressPrograms(programs.setpriv);
      let reason: string | undefined;
      let plan: NetworkChoice = 'off';
      if (!egress) {
        reason = `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed (apt-get install -y --no-install-recommends passt nftables)`;
      } else {
        const dns = n.dns.length ? n.dns : hostResolvers();
        if (!dns.length) this.log.warn('Desktops cannot look up names: this host has no DNS server in /etc/resolv.conf; set COMPUTER_NETWORK_DNS.');
        plan = { lists: n.lists, dns, programs: egress };
        const dir = await mkdtemp(join(tmpdir(), 'cua-egress-probe-'));
        try {
          await (await EgressNetwork.start({ plan, hostUid: uids ? this.xvfb.sandboxUids.base : undefined, etcDir: dir, timeoutMs: 10_000 })).close();
        } catch (e) {
          reason = errorMessage(e);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      if (!reason) return plan;
      if (n.explicit) {
        throw new DomainError(
          DomainErrorCode.COMPUTER_FAILED,
          `COMPUTER_NETWORK=egress cannot work on this machine: ${reason}. Fix that, or choose COMPUTER_NETWORK=off (no network) explicitly. See docs/security.md.`,
        );
      }
      this.log.warn(`Desktops get no network: COMPUTER_NETWORK=egress (the default) cannot work on this machine (${reason}). Fix that, or set COMPUTER_NETWORK=off to choose no network. See docs/security.md.`);
      return 'off';
    })();
    return this.network;
  }

  /** At most one warning a minute about the desktops' upstream resolvers. */
  private warnResolver = (message: string) => {
    if (Date.now() - this.lastResolverWarning < 60_000) return;
    this.lastResolverWarning = Date.now();
    this.log.warn(`Desktop DNS: ${message}`);
  };

  /** Removes desktop folders a crashed server of ours left behind. */
  async onModuleInit(): Promise<void> {
    if (this.computer.provider !== this.name) return;
    const removed = await removeStaleWorkspaces();
    if (removed.length) this.log.log(`Removed ${removed.length} desktop folder(s) left by a server that is gone`);
  }

  /** Finds the programs on this machine (a seam for tests). */
  protected locatePrograms(more: Readonly<Record<string, string>> = {}): ReturnType<typeof locatePrograms> {
    return locatePrograms(more);
  }

  async create(options: CreateComputerOptions): Promise<XvfbComputer> {
    const c = this.computer;
    const uids = this.resolveHostUids();
    const hostUid = uids?.take();
    if (uids && hostUid === undefined) {
      throw new DomainError(DomainErrorCode.COMPUTER_FAILED, `Every host uid of the range for desktops is in use (SANDBOX_UID_COUNT=${uids.count}); raise SANDBOX_UID_COUNT to at least POOL_MAX_SIZE.`);
    }
    const giveBack = () => hostUid !== undefined && uids?.give(hostUid);
    let computer: XvfbComputer | undefined = undefined;
    try {
      computer = await XvfbComputer.start(
        {
          id: `xvfb-${randomUUID().slice(0, 8)}`,
          width: c.screenWidth,
          height: c.screenHeight,
          network: await this.resolveNetwork(),
          onNetworkWarning: this.warnResolver,
          commandTimeoutMs: c.commandTimeoutMs,
          commandOutputLimitBytes: c.commandOutputLimitBytes,
          programs: this.resolvePrograms(),
          profile: this.profile(),
          hostUid,
          limits: this.xvfb.limits,
          cgroups: await this.resolveCgroups(),
          sizedDisk: process.getuid?.() === 0,
          onClose: () => computer && this.open.delete(computer),
          // The uid is free again only once nothing of the computer runs any more.
          onClosed: giveBack,
        },
        options.signal,
      );
    } catch (e) {
      // start() closed whatever it had started (onClosed ran, or nothing was started).
      giveBack();
      throw e;
    }
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
    await (await this.cgroups)?.close();
  }
}
