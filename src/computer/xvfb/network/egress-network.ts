import { getServers } from 'node:dns';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DnsServer, EgressLists, nameCovers, parseDnsServers } from './network-lists';
import { sleep, withTimeout } from '../../../common/async';
import { describeExit, exitsWithin, ExitStatus, ManagedProcess } from '../child-process';
import { findProgram } from '../programs';
import { inCgroups, SandboxNetwork } from '../sandbox';
import { DesktopResolver } from './desktop-resolver';
import { egressRuleset, pinCommands, pinSeconds } from './egress-rules';

/** The programs egress needs, with the Debian package of each. */
export const EGRESS_PROGRAMS = { pasta: 'passt', nft: 'nftables', nsenter: 'util-linux' } as const;
export type EgressPrograms = Record<keyof typeof EGRESS_PROGRAMS, string> & { setpriv?: string };

/** Everything a computer needs to set up its egress network (decided once per server, see the provider). */
export interface EgressPlan {
  lists: EgressLists;
  /** Upstream resolvers for the desktops' DNS. */
  dns: DnsServer[];
  programs: EgressPrograms;
}

/** What a computer's programs reach: nothing, the host's network, or an egress network of its own. */
export type NetworkChoice = 'off' | 'on' | EgressPlan;

export interface EgressStartOptions {
  plan: EgressPlan;
  /** Root servers: the computer's host uid, which pasta and the rule keeper run as (needs plan.programs.setpriv). */
  hostUid?: number;
  /** The computer's control groups, which pasta and the rule keeper join. */
  cgroupDirs?: readonly string[];
  /** Where the computer's resolv.conf is written (its workspace's etc folder). */
  etcDir: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Problems of the resolver's upstreams (never the desktop's input). */
  warn?: (message: string) => void;
}

/** The host's own DNS servers (/etc/resolv.conf, as Node reads it), asked from the host's network namespace. */
export function hostResolvers(): DnsServer[] {
  try {
    return parseDnsServers(getServers().join(','));
  } catch {
    return [];
  }
}

/** Finds pasta, nft and nsenter; `missing` names the Debian packages to install. */
export function locateEgressPrograms(setpriv: string | undefined): { programs?: EgressPrograms; missing: string[] } {
  const found: Partial<EgressPrograms> = {};
  const missing: string[] = [];
  for (const [name, pkg] of Object.entries(EGRESS_PROGRAMS) as [keyof typeof EGRESS_PROGRAMS, string][]) {
    const p = findProgram(name);
    if (p) found[name] = p;
    else missing.push(`${name} (${pkg})`);
  }
  return missing.length ? { missing } : { programs: { ...(found as EgressPrograms), setpriv }, missing };
}

/**
 * The rule keeper: PID 1 of pasta's new namespaces, root of their user namespace (so it holds
 * CAP_NET_ADMIN there, and nothing else does but the server's own user outside). It says which
 * network namespace it is in, then runs each line it reads (`<number> <nft commands>`) as one nft
 * transaction and answers `<number> ok` or `<number> error …`. It exits when its input closes —
 * when the computer closes it, or when the server dies — and pasta, whose command it is, exits
 * with it.
 */
const KEEPER = [
  'printf "ready %s\\n" "$(readlink /proc/self/ns/net)"',
  'while read -r id line; do',
  '  if out=$("$1" "$line" 2>&1); then echo "$id ok"; else printf "%s error %s\\n" "$id" "$(printf %s "$out" | tr "\\n" " ")"; fi',
  'done',
].join('\n');

const START_COMMAND_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The host pids of `pid`'s children. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: look at every process's parent.
    return readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        try {
          const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        } catch {
          return false;
        }
      })
      .map(Number);
  }
}

const inode = (text: string) => Number(/\[(\d+)\]/.exec(text)?.[1]);

/**
 * A computer's egress network: its own network and user namespaces, created by pasta (Debian
 * `passt`), a user-mode TCP/IP stack that connects them to the internet through ordinary sockets
 * of the host — without mapping the host's loopback into them (`--no-map-gw`, `-T`/`-U` only for
 * DNS) and without forwarding any port of theirs to the host (`-t none -u none`). Before any
 * program joins, the rule keeper loads egressRuleset(); programs join as an unprivileged user of
 * another user namespace, so they cannot change the rules. Name lookups go to the computer's own
 * DesktopResolver. Everything is owned by the computer: close() stops it; if the server dies,
 * the keeper's input closes and both helpers exit.
 */
export class EgressNetwork {
  private pasta: ManagedProcess | undefined;
  private resolver: DesktopResolver | undefined;
  private keeperPid: number | undefined;
  private netNs: number | undefined;
  private netFd: number | undefined;
  private userFd: number | undefined;
  private resolvConf: string | undefined;
  private lines: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private commands: Promise<unknown> = Promise.resolve();
  private commandCount = 0;
  private booting: Promise<void> | undefined;
  private stopping = false;
  private closing: Promise<void> | undefined;
  /** Addresses pinned and until when (ms), so a repeated answer does not cost an nft run. */
  private readonly pinned = new Map<string, number>();

  private constructor(private readonly o: EgressStartOptions) {}

  /** Starts the network; on any failure (or abort) everything started is stopped again. */
  static async start(o: EgressStartOptions): Promise<EgressNetwork> {
    const net = new EgressNetwork(o);
    net.booting = net.boot();
    try {
      await withTimeout(net.booting, o.timeoutMs, () => new Error(`the network did not start within ${o.timeoutMs} ms`), o.signal);
      return net;
    } catch (e) {
      await net.close();
      throw e;
    }
  }

  private checkStopping() {
    if (this.stopping) throw new Error('the computer closed while its network started');
  }

  private async boot(): Promise<void> {
    const { plan } = this.o;
    const lists = plan.lists;
    this.resolver = await DesktopResolver.start({
      upstreams: plan.dns,
      warn: this.o.warn,
      policy: {
        resolves: (name) => !lists.denyNames.some((d) => nameCovers(d, name)) && (lists.anyDestination || lists.allowNames.some((a) => nameCovers(a, name))),
        learned: lists.anyDestination ? undefined : (addresses) => this.pin(addresses),
      },
    });
    this.checkStopping();
    this.resolvConf = join(this.o.etcDir, 'resolv.conf');
    await writeFile(this.resolvConf, 'nameserver 127.0.0.1\n', { mode: 0o644 });
    this.checkStopping();

    const port = String(this.resolver.port);
    const pasta = [
      plan.programs.pasta,
      '--foreground', '--quiet', '--config-net',
      // The gateway address stays the gateway: never a way to the host's loopback.
      '--no-map-gw',
      // No port of the desktop is published on the host.
      '-t', 'none', '-u', 'none',
      // Of the host's loopback, only the desktop's resolver, as port 53 of its own loopback.
      '-T', `53:${port}`, '-U', `53:${port}`,
      '--', '/bin/sh', '-c', KEEPER, 'cua-egress-rules', plan.programs.nft,
    ];
    let line = pasta;
    if (this.o.hostUid !== undefined) {
      if (!plan.programs.setpriv) throw new Error('a host uid needs setpriv (util-linux)');
      const id = String(this.o.hostUid);
      line = [plan.programs.setpriv, '--reuid', id, '--regid', id, '--clear-groups', '--', ...line];
    }
    line = inCgroups(this.o.cgroupDirs, line);
    const proc = new ManagedProcess('network helper (pasta)', line[0], line.slice(1), { env: { PATH }, pipeStdin: true, pipeStdout: true });
    this.pasta = proc;
    proc.child.stdin?.on('error', () => undefined);
    const stdout = createInterface({ input: proc.child.stdout! });
    stdout.on('line', (l) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(l);
      } else this.lines.push(l);
    });
    stdout.on('close', () => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(undefined);
    });

    const ready = await this.nextLine(START_COMMAND_TIMEOUT_MS);
    this.checkStopping();
    if (!ready?.startsWith('ready ')) throw new Error(`pasta ${this.failure()}`);
    this.netNs = inode(ready);
    this.openNamespaces(proc.pid!);
    await this.command(egressRuleset(lists), START_COMMAND_TIMEOUT_MS);
  }

  /** Finds the rule keeper (pasta's child) and opens its namespaces, checking they are the ones it named. */
  private openNamespaces(pastaPid: number): void {
    for (const pid of childrenOf(pastaPid)) {
      let fd: number | undefined;
      try {
        fd = openSync(`/proc/${pid}/ns/net`, 'r');
        if (fstatSync(fd).ino !== this.netNs) throw new Error('another namespace');
      } catch {
        if (fd !== undefined) closeSync(fd);
        continue;
      }
      this.netFd = fd;
      this.keeperPid = pid;
      // A root server enters the network namespace directly; any other needs the user namespace that owns it.
      if (process.getuid?.() !== 0) this.userFd = openSync(`/proc/${pid}/ns/user`, 'r');
      return;
    }
    throw new Error('the network namespace pasta made could not be found');
  }

  private failure(): string {
    const p = this.pasta!;
    const tail = p.stderrTail().replace(/Failed to send \d+ bytes to syslog\n?/g, '').trim();
    let why = `${describeExit(p.exitStatus)}${tail ? `: ${tail}` : ''}`;
    if (/tun/i.test(tail)) why += '. pasta needs /dev/net/tun, usable by the desktops\' users (mode 0666, as udev sets it; in a container, give it the device)';
    return why;
  }

  private nextLine(timeoutMs: number): Promise<string | undefined> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (!this.pasta?.running) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiting = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  }

  /** Runs one line of nft commands in the namespace (one transaction); rejects with nft's message. */
  private command(text: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<void> {
    if (text.includes('\n')) throw new Error('an nft command line cannot hold a line break');
    const run = this.commands.then(async () => {
      const stdin = this.pasta?.child.stdin;
      if (!stdin || this.stopping || !this.pasta?.running) throw new Error('the network is closed');
      const id = String(++this.commandCount);
      stdin.write(`${id} ${text}\n`);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const answer = await this.nextLine(Math.max(1, deadline - Date.now()));
        if (answer === undefined) throw new Error(`the rule keeper did not answer in time (pasta ${this.failure()})`);
        const [, of, verdict] = /^(\d+) (.*)$/.exec(answer) ?? [];
        // An answer to an earlier command that timed out: not this one's.
        if (of !== id) continue;
        if (verdict === 'ok') return;
        throw new Error(`nft: ${verdict.replace(/^error /, '')}`);
      }
    });
    this.commands = run.catch(() => undefined);
    return run;
  }

  /** Makes addresses learned from an allowed name reachable (see pinCommands). */
  private async pin(addresses: readonly { family: 4 | 6; address: string; ttl: number }[]): Promise<void> {
    const now = Date.now();
    // An address pinned for another minute at least costs nothing.
    const fresh = addresses.filter((a) => (this.pinned.get(a.address) ?? 0) - now < 60_000);
    if (!fresh.length) return;
    await this.command(pinCommands(fresh));
    for (const a of fresh) this.pinned.set(a.address, now + 1000 * pinSeconds(a.ttl));
    if (this.pinned.size > 4096) for (const [address, until] of this.pinned) if (until <= now) this.pinned.delete(address);
  }

  /** How the computer's sandboxes join this network. */
  sandboxNetwork(): SandboxNetwork {
    if (this.netFd === undefined || !this.resolvConf) throw new Error('the network is not started');
    return { kind: 'joined', nsenter: this.o.plan.programs.nsenter, netFd: this.netFd, userFd: this.userFd, resolvConf: this.resolvConf };
  }

  /** Resolves when pasta exits (the network is gone from then on). */
  get exited(): Promise<ExitStatus> {
    return this.pasta?.exited ?? Promise.resolve({ code: null, signal: null });
  }

  /** Host pids of pasta and the rule keeper. */
  pids(): number[] {
    return [this.pasta?.pid, this.keeperPid].filter((p): p is number => p !== undefined);
  }

  /** The port of the computer's resolver on the host's loopback (for diagnostics and tests). */
  get resolverPort(): number | undefined {
    return this.resolver?.port;
  }

  /** Stops pasta, the rule keeper and the resolver; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    // Wake a start that waits for the keeper, and let it give up first.
    const w = this.waiting;
    this.waiting = undefined;
    w?.(undefined);
    await this.booting?.catch(() => undefined);
    await this.resolver?.close().catch(() => undefined);
    const pasta = this.pasta;
    if (pasta) {
      // End of input: the keeper exits, and pasta with it.
      pasta.child.stdin?.end();
      if (!(await exitsWithin(pasta, 2000))) await pasta.stop('SIGKILL');
      else await pasta.exited;
    }
    // pasta reaps the keeper; if pasta was killed first, the keeper still ends on its closed input.
    const keeper = this.keeperPid;
    if (keeper !== undefined) {
      for (let i = 0; i < 100 && this.isKeeper(keeper); i++) {
        if (i === 50) this.killKeeper(keeper);
        await sleep(20);
      }
    }
    for (const fd of [this.netFd, this.userFd]) if (fd !== undefined) closeSync(fd);
    this.netFd = this.userFd = undefined;
  }

  /** True while `pid` is still the keeper: alive, not a zombie, in the namespace we hold. */
  private isKeeper(pid: number): boolean {
    try {
      if (/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
      return statSync(`/proc/${pid}/ns/net`).ino === this.netNs;
    } catch {
      return false;
    }
  }

  private killKeeper(pid: number) {
    try {
      if (this.isKeeper(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
