import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XvfbComputerProvider } from '../src/computer/xvfb/xvfb-computer.module';
import { call, startApp, TestApp } from './support/app';
import { FakeDns, startFakeDns } from './support/fake-dns';
import { descendsFrom } from './support/processes';
import { spawnServer } from './support/server-process';
import { setUpTestInternet, TestInternet } from './support/test-internet';
import { waitFor } from './support/wait-for';

/*
 * What a desktop's programs reach, on real sandboxes, with each COMPUTER_NETWORK mode. Every
 * target is on this machine: the host's loopback, or "the internet" — a network namespace this
 * test builds (test/support/test-internet.ts) with a server on a public-looking, a private and a
 * link-local address, and no way out. Names come from a DNS server of the test's own on
 * 127.0.0.1 (COMPUTER_NETWORK_DNS), never from the host's resolver.
 */

async function sh(client: Client, command: string, session_id = 'net') {
  const r = await call(client, 'run_command', { command, session_id, timeout_ms: 20_000 });
  const sc = r.structuredContent as { stdout: string; stderr: string; exit_code: number | null } | undefined;
  return { isError: r.isError, stdout: sc?.stdout ?? '', stderr: sc?.stderr ?? '', text: JSON.stringify(r.content) };
}

/** curl from inside the desktop: the body, or `failed(<curl exit code>)`. */
async function fetchFrom(client: Client, url: string, session_id?: string): Promise<string> {
  const r = await sh(client, `curl -sS -g --max-time 5 ${url} || echo "failed($?)"`, session_id);
  return r.stdout.trim();
}


/** What this process's descriptors point at (e.g. `net:[4026532336]` for a network namespace). */
function ownDescriptors(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

/** Gone: no process of that pid at all, not even a zombie. */
const gone = (pids: number[]) => pids.every((p) => !existsSync(`/proc/${p}`));
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });

describe('Desktop network (real sandboxes; "the internet" is a namespace of the test\'s own)', () => {
  let inet: TestInternet;
  let dns: FakeDns;
  /** A service of the host: on every host address (v4 and v6), port `hostPort`. */
  let hostService: Server;
  let hostPort: number;
  let hostHits = 0;
  let t: TestApp | undefined;

  beforeAll(async () => {
    inet = await setUpTestInternet();
    dns = await startFakeDns({ 'site.test': inet.publicA, 'other.test': inet.publicB, 'denied.test': inet.publicA, 'intranet.test': inet.private });
    hostService = createServer((s) => {
      hostHits++;
      s.end('host-service\n');
    });
    await new Promise<void>((r) => hostService.listen(0, '::', r));
    hostPort = (hostService.address() as { port: number }).port;
  }, 30_000);
  afterAll(async () => {
    await t?.close();
    hostService?.close();
    await dns?.close();
    inet?.close();
  });

  const boot = async (env: Record<string, string>) => {
    await t?.close();
    t = await startApp({ COMPUTER_PROVIDER: 'xvfb', SCREEN_WIDTH: '640', SCREEN_HEIGHT: '400', ...env });
    return t.connect();
  };
  // Test helpers default to no network (test/support/app.ts): egress is asked for here.
  const egress = (env: Record<string, string> = {}) => boot({ COMPUTER_NETWORK: 'egress', COMPUTER_NETWORK_DNS: `127.0.0.1:${dns.port}`, ...env });
  const provider = () => t!.app.get(XvfbComputerProvider, { strict: false });

  describe('COMPUTER_NETWORK=egress, no lists', () => {
    let client: Client;
    beforeAll(async () => {
      client = await egress();
    }, 60_000);

    it("reaches the internet, by address and by name through the desktop's own resolver", async () => {
      expect(await fetchFrom(client, `http://${inet.publicA}:${inet.port}/`)).toBe(`hello ${inet.publicA}`);
      const names = await sh(client, 'cat /etc/resolv.conf; getent hosts other.test');
      expect(names.stdout).toMatch(/^nameserver 127\.0\.0\.1$/m);
      expect(names.stdout).toMatch(new RegExp(`^${inet.publicB.replace(/\./g, '\\.')}\\s+other\\.test$`, 'm'));
      expect(await fetchFrom(client, `http://other.test:${inet.port}/`)).toBe(`hello ${inet.publicB}`);
      expect(dns.asked.get('other.test')).toBeGreaterThan(0);
    }, 60_000);

    it("cannot reach the host's loopback services, the MCP server's own port, or any address of the host", async () => {
      const mcpPort = new URL(t!.url).port;
      const before = hostHits;
      for (const url of [`http://127.0.0.1:${hostPort}/`, `http://[::1]:${hostPort}/`, `http://127.0.0.1:${mcpPort}/health`, `http://${inet.hostSide}:${hostPort}/`, `http://${inet.hostSide}:${mcpPort}/health`]) {
        // curl's 7: it could not connect (a connection that got anywhere would fail otherwise).
        expect([url, await fetchFrom(client, url)]).toEqual([url, 'failed(7)']);
      }
      expect(hostHits).toBe(before);
      // The same probe from the host itself does get through: the service is there.
      const s = connect(hostPort, '127.0.0.1');
      await new Promise((r) => s.once('data', r));
      s.destroy();
      expect(hostHits).toBe(before + 1);
    }, 60_000);

    it('cannot reach private or link-local addresses, and cannot lift its own rules', async () => {
      for (const address of [inet.private, inet.linkLocal]) {
        expect(await fetchFrom(client, `http://${address}:${inet.port}/`)).toMatch(/failed\(7\)$/);
      }
      const attempt = await sh(client, 'nft flush ruleset; echo "nft=$?"; unshare -r nft flush ruleset; echo "nested=$?"');
      expect(attempt.stdout).toMatch(/^nft=1$/m);
      expect(attempt.stdout).toMatch(/^nested=[1-9]\d*$/m);
      expect(attempt.stderr).toMatch(/Operation not permitted/);
      expect(await fetchFrom(client, `http://${inet.private}:${inet.port}/`)).toMatch(/failed\(7\)$/);
      expect(inet.hits(inet.private)).toBe(0);
      expect(inet.hits(inet.linkLocal)).toBe(0);
      // The name of a private address resolves, and still leads nowhere.
      expect(await fetchFrom(client, `http://intranet.test:${inet.port}/`)).toMatch(/failed\(7\)$/);
    }, 60_000);

    it('leaves nothing behind: ending a session ends its pasta and rule keeper (by pid), closes its resolver and lets go of its namespaces', async () => {
      const known = new Set(provider().openComputers());
      await sh(client, 'true', 'net-cleanup');
      const [computer] = provider().openComputers().filter((c) => !known.has(c));
      const pids = computer.networkPids();
      const port = computer.resolverPort!;
      expect(pids).toHaveLength(2);
      expect(gone(pids)).toBe(false);
      expect(await refused(port)).toBe(false);
      const namespace = readlinkSync(`/proc/${pids[1]}/ns/net`);
      expect(ownDescriptors()).toContain(namespace); // the server holds it while the computer lives
      await call(client, 'cleanup_session', { session_id: 'net-cleanup' });
      await waitFor('its network helpers to be gone', () => gone(pids));
      expect(await refused(port)).toBe(true);
      await waitFor('the namespace descriptor to be closed', () => !ownDescriptors().includes(namespace));
      // The other session's network is untouched.
      for (const other of known) expect(gone(other.networkPids())).toBe(false);
      expect(await fetchFrom(client, `http://${inet.publicA}:${inet.port}/`)).toBe(`hello ${inet.publicA}`);
    }, 60_000);

    it('a network helper that dies takes its computer down, and closing it leaves nothing', async () => {
      const known = new Set(provider().openComputers());
      await sh(client, 'true', 'net-crash');
      const [victim] = provider().openComputers().filter((c) => !known.has(c));
      const [pasta, keeper] = victim.networkPids();
      process.kill(pasta, 'SIGKILL');
      await waitFor('the computer to notice', async () => !(await victim.isAlive()));
      const r = await sh(client, 'echo still', 'net-crash');
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/network helper \(pasta\) was killed by SIGKILL/);
      await call(client, 'cleanup_session', { session_id: 'net-crash' });
      await waitFor('pasta and its rule keeper to be gone', () => gone([pasta, keeper]));
    }, 60_000);
  });

  describe('allow and deny lists', () => {
    it('a deny list blocks its ranges and names; the rest of the internet stays reachable', async () => {
      const client = await egress({ COMPUTER_NETWORK_DENY: `${inet.publicB}, denied.test` });
      expect(await fetchFrom(client, `http://${inet.publicA}:${inet.port}/`)).toBe(`hello ${inet.publicA}`);
      const before = inet.hits(inet.publicB);
      expect(await fetchFrom(client, `http://${inet.publicB}:${inet.port}/`)).toMatch(/failed\(7\)$/);
      expect(inet.hits(inet.publicB)).toBe(before);
      const names = await sh(client, 'getent hosts denied.test; echo "denied=$?"; getent hosts site.test');
      expect(names.stdout).toMatch(/^denied=2$/m);
      expect(names.stdout).toMatch(/site\.test/);
      expect(dns.asked.has('denied.test')).toBe(false); // refused without asking upstream
    }, 60_000);

    it('an allow list reaches only its names (their addresses pinned as they are looked up) and ranges, a private one included', async () => {
      const client = await egress({ COMPUTER_NETWORK_ALLOW: `site.test, ${inet.private.replace(/\.\d+$/, '.0')}/24` });
      // Not looked up yet: the address is not open.
      expect(await fetchFrom(client, `http://${inet.publicA}:${inet.port}/`)).toMatch(/failed\(7\)$/);
      expect(await fetchFrom(client, `http://site.test:${inet.port}/`)).toBe(`hello ${inet.publicA}`);
      // From then on it is.
      expect(await fetchFrom(client, `http://${inet.publicA}:${inet.port}/`)).toBe(`hello ${inet.publicA}`);
      expect(await fetchFrom(client, `http://${inet.private}:${inet.port}/`)).toBe(`hello ${inet.private}`);
      // Everything else: no name (not even asked upstream), no address.
      const asked = dns.asked.get('other.test') ?? 0;
      const other = await sh(client, 'getent hosts other.test; echo "other=$?"');
      expect(other.stdout).toMatch(/^other=2$/m);
      expect(dns.asked.get('other.test') ?? 0).toBe(asked);
      expect(await fetchFrom(client, `http://${inet.publicB}:${inet.port}/`)).toMatch(/failed\(7\)$/);
      expect(await fetchFrom(client, `http://${inet.linkLocal}:${inet.port}/`)).toMatch(/failed\(7\)$/);
    }, 60_000);
  });

  describe('COMPUTER_NETWORK=off and on', () => {
    it('off reaches nothing: not the internet, not the host, no names', async () => {
      const client = await boot({ COMPUTER_NETWORK: 'off' });
      const before = { host: hostHits, inet: inet.hits(inet.publicA) };
      for (const url of [`http://${inet.publicA}:${inet.port}/`, `http://127.0.0.1:${hostPort}/`, `http://site.test:${inet.port}/`]) {
        expect(await fetchFrom(client, url)).toMatch(/failed\((6|7)\)$/);
      }
      expect((await sh(client, 'ip -br addr')).stdout.trim()).toMatch(/^lo\s+\S+\s+127\.0\.0\.1\/8 ::1\/128$/);
      expect({ host: hostHits, inet: inet.hits(inet.publicA) }).toEqual(before);
    }, 60_000);

    it("on shares the host's network: the host's loopback service answers (which is why it is only for one trusted user)", async () => {
      const client = await boot({ COMPUTER_NETWORK: 'on' });
      const before = hostHits;
      const r = await sh(client, `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${hostPort} && head -n1 <&3'`);
      expect(r.stdout).toBe('host-service\n');
      expect(hostHits).toBe(before + 1);
    }, 60_000);
  });

  describe('a server that is not root, killed with SIGKILL', () => {
    const NON_ROOT = 10001;

    it('reaches the internet but not the host, and its network helpers end with it', async () => {
      const work = mkdtempSync(join(tmpdir(), 'cua-net-nonroot-'));
      try {
        chownSync(work, NON_ROOT, NON_ROOT);
        chmodSync(work, 0o700);
        const server = await spawnServer(
          { COMPUTER_PROVIDER: 'xvfb', COMPUTER_NETWORK: 'egress', COMPUTER_NETWORK_DNS: `127.0.0.1:${dns.port}`, TMPDIR: work, HOME: work, POOL_MIN_WARM: '0' },
          undefined,
          30_000,
          ['setpriv', '--reuid', String(NON_ROOT), '--regid', String(NON_ROOT), '--clear-groups', '--'],
        );
        try {
          const client = new Client({ name: 'net', version: '1.0.0' });
          await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
          expect(await fetchFrom(client, `http://site.test:${inet.port}/`)).toBe(`hello ${inet.publicA}`);
          const before = hostHits;
          expect(await fetchFrom(client, `http://127.0.0.1:${hostPort}/`)).toMatch(/failed\(7\)$/);
          expect(await fetchFrom(client, `http://${inet.private}:${inet.port}/`)).toMatch(/failed\(7\)$/);
          expect(hostHits).toBe(before);
          const helpers = readdirSync('/proc')
            .filter((e) => /^\d+$/.test(e))
            .map(Number)
            .filter((pid) => {
              try {
                const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
                return (cmd.includes('--no-map-gw') || cmd.includes('cua-egress-rules')) && descendsFrom(pid, server.proc.pid!);
              } catch {
                return false;
              }
            });
          expect(helpers).toHaveLength(2); // pasta and its rule keeper
          server.proc.kill('SIGKILL');
          await server.exited;
          await waitFor('the network helpers to end with the server', () => gone(helpers));
        } finally {
          await server.stop(5_000);
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }, 90_000);
  });
});
