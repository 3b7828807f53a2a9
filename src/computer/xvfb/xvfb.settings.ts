import { Setting, defineSettings, type SettingsOf, type SettingsProblem, Int, OneOf, Optional, RawText, Text } from '../../config/settings';
import { parseDnsServers, parseEgressLists } from './network/network-lists';

const NETWORK_KEYS = ['COMPUTER_NETWORK', 'COMPUTER_NETWORK_ALLOW', 'COMPUTER_NETWORK_DENY', 'COMPUTER_NETWORK_DNS'];

class XvfbEnv {
  @Setting('What `xvfb` desktops reach: `egress` (the internet, not the host, its cluster, private or link-local addresses; falls back to `off` with a warning when unset and this machine cannot do it), `off` (no network), `on` (the host\'s own network: unsafe with more than one tenant). See [desktops.md](desktops.md#the-desktops-network).')
  @OneOf(['egress', 'off', 'on'])
  COMPUTER_NETWORK = 'egress';

  @Setting('`egress`: comma-separated host names (a name covers its subdomains) and address ranges (`203.0.113.0/24`, `2001:db8::/32`) desktops may reach; `*` (the default): any address not blocked. A listed range opens a private one.')
  @Optional() @RawText()
  COMPUTER_NETWORK_ALLOW?: string;

  @Setting('`egress`: comma-separated host names and address ranges desktops may not reach; wins over the allow list.')
  @Optional() @RawText()
  COMPUTER_NETWORK_DENY?: string;

  @Setting('`egress`: comma-separated DNS servers (`IP` or `IP:port`) the desktops\' resolver asks; unset: the host\'s (`/etc/resolv.conf`).')
  @Optional() @RawText()
  COMPUTER_NETWORK_DNS?: string;

  @Setting('What an `xvfb` desktop runs: `standard` (a panel with Browser, Editor, Files and Terminal launchers), `minimal` (openbox and one terminal), or a profile you register ([desktops.md](desktops.md#desktop-profiles)).')
  @Text(/^[a-z][a-z0-9-]*$/, 'a profile name such as standard or minimal')
  DESKTOP_PROFILE = 'standard';

  @Setting('Processes and threads one `xvfb` computer may run (Firefox with one page uses about 200); how each limit is enforced in each mode: [security.md](security.md).')
  @Int(32, 100_000)
  SESSION_MAX_PROCESSES = 1024;

  @Setting('Memory of one computer\'s processes together, in MiB (needs a root server with writable control groups).')
  @Int(64, 1_048_576)
  SESSION_MAX_MEMORY_MB = 4096;

  @Setting('Home and `/tmp` of one computer together, in MiB (a sized tmpfs for a root server; otherwise the largest file).')
  @Int(16, 1_048_576)
  SESSION_MAX_DISK_MB = 1024;

  @Setting('Commands and file operations one computer runs at once (`COMPUTER_BUSY` beyond).')
  @Int(1, 256)
  SESSION_MAX_COMMANDS = 8;

  @Setting('Root servers: the first host uid computers run as, one each (keep the range inside the container\'s uid mapping).')
  @Int(1000, 2_000_000_000)
  SANDBOX_UID_BASE = 50_000;

  @Setting('Root servers: how many host uids the range holds (at least the most computers alive at once).')
  @Int(1, 1_000_000)
  SANDBOX_UID_COUNT = 5_000;
}

function listProblem(key: string, parse: () => unknown): SettingsProblem[] {
  try {
    parse();
    return [];
  } catch (e) {
    return [{ key, reason: (e as Error).message }];
  }
}

export const XVFB_SETTINGS = defineSettings({
  namespace: 'xvfb',
  title: 'Desktops on this machine (COMPUTER_PROVIDER=xvfb)',
  docs: 'security.md',
  env: XvfbEnv,
  check: (env) => [
    ...(['COMPUTER_NETWORK_ALLOW', 'COMPUTER_NETWORK_DENY', 'COMPUTER_NETWORK_DNS'] as const)
      .filter((key) => env[key] !== undefined && env.COMPUTER_NETWORK !== 'egress')
      .map((key) => ({ key, after: ['COMPUTER_NETWORK'], reason: `applies only to COMPUTER_NETWORK=egress (it is ${env.COMPUTER_NETWORK})` })),
    ...listProblem('COMPUTER_NETWORK_ALLOW', () => parseEgressLists(env.COMPUTER_NETWORK_ALLOW, undefined)),
    ...listProblem('COMPUTER_NETWORK_DENY', () => parseEgressLists(undefined, env.COMPUTER_NETWORK_DENY)),
    ...listProblem('COMPUTER_NETWORK_DNS', () => parseDnsServers(env.COMPUTER_NETWORK_DNS)),
  ],
  build: (env, ctx) => ({
    /** What the programs of a desktop reach (see docs/security.md). */
    network: {
      mode: env.COMPUTER_NETWORK as 'egress' | 'off' | 'on',
      /** Set by the operator: egress that cannot start here is then an error, not a fall-back to off. */
      explicit: NETWORK_KEYS.some((k) => ctx.given(k)),
      lists: parseEgressLists(env.COMPUTER_NETWORK_ALLOW, env.COMPUTER_NETWORK_DENY),
      /** Upstream resolvers of the desktops' DNS; empty: the host's. */
      dns: parseDnsServers(env.COMPUTER_NETWORK_DNS),
    },
    desktopProfile: env.DESKTOP_PROFILE,
    /** What one computer may use. */
    limits: {
      maxProcesses: env.SESSION_MAX_PROCESSES,
      memoryBytes: env.SESSION_MAX_MEMORY_MB * 1024 * 1024,
      diskBytes: env.SESSION_MAX_DISK_MB * 1024 * 1024,
      maxCommands: env.SESSION_MAX_COMMANDS,
    },
    /** Host uids for computers of a root server: [base, base + count). */
    sandboxUids: { base: env.SANDBOX_UID_BASE, count: env.SANDBOX_UID_COUNT },
  }),
});
export type XvfbSettings = SettingsOf<typeof XVFB_SETTINGS>;
