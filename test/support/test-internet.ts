import { ChildProcess, execFileSync, spawn } from 'node:child_process';

/**
 * "The internet" for network tests, built on this machine: a network namespace of the test's own
 * with a veth pair to the host. Inside it one HTTP server answers on a public-looking address
 * (TEST-NET-3), a private one (RFC 1918) and a link-local one, each `hello <address>`, and
 * counts the connections it gets per address. The namespace has no default route, so nothing it
 * sends can go further than the host's end of the pair; before anything connects, setUp()
 * checks that the host routes every target address into the pair, never elsewhere.
 */
export interface TestInternet {
  /** Addresses served inside the namespace. */
  publicA: string;
  publicB: string;
  private: string;
  linkLocal: string;
  /** The host's own end of the pair: an address of the host. */
  hostSide: string;
  port: number;
  /** Connections the server accepted on `address` so far. */
  hits(address: string): number;
  close(): void;
}

const SERVER = `
const http = require('http');
const server = http.createServer((req, res) => res.end('hello ' + req.socket.localAddress + '\\n'));
server.on('connection', (s) => process.stdout.write('hit ' + s.localAddress + '\\n'));
server.listen(Number(process.argv[1]), '0.0.0.0', () => process.stdout.write('listening\\n'));
`;

function ip(...args: string[]) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function setUpTestInternet(port = 8080): Promise<TestInternet> {
  const tag = `${process.pid % 100_000}`;
  const ns = `cua-inet-${tag}`;
  const hostIf = `cuai${tag}h`;
  const nsIf = `cuai${tag}n`;
  const nets = { publicA: '203.0.113.2', publicB: '203.0.113.3', private: '10.213.77.2', linkLocal: '169.254.77.2' };
  let server: ChildProcess | undefined;
  const close = () => {
    server?.kill('SIGKILL');
    try {
      ip('netns', 'del', ns); // takes its end of the pair, and so the pair, along
    } catch {
      // not there
    }
    try {
      ip('link', 'del', hostIf);
    } catch {
      // gone with the namespace
    }
  };
  close(); // leftovers of an earlier run with the same pid
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', ns);
    for (const [host, inside] of [['203.0.113.1/24', '203.0.113.2/24'], ['10.213.77.1/24', '10.213.77.2/24'], ['169.254.77.1/24', '169.254.77.2/24']]) {
      ip('addr', 'add', host, 'dev', hostIf);
      ip('-n', ns, 'addr', 'add', inside, 'dev', nsIf);
    }
    ip('-n', ns, 'addr', 'add', '203.0.113.3/24', 'dev', nsIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', ns, 'link', 'set', nsIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // Every target must be routed into the pair, or the test stops before anything connects.
    for (const target of Object.values(nets)) {
      const route = execFileSync('ip', ['route', 'get', target], { encoding: 'utf8' });
      if (!new RegExp(`\\bdev ${hostIf}\\b`).test(route)) throw new Error(`${target} is not routed into the test's namespace: ${route}`);
    }
    const hits = new Map<string, number>();
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let rest = '';
      server!.stdout!.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          if (line === 'listening') resolve();
          const m = /^hit (?:::ffff:)?(\S+)$/.exec(line);
          if (m) hits.set(m[1], (hits.get(m[1]) ?? 0) + 1);
        }
      });
      server!.once('exit', (code) => reject(new Error(`the test's server exited (${code})`)));
    });
    return { ...nets, hostSide: '203.0.113.1', port, hits: (a) => hits.get(a) ?? 0, close };
  } catch (e) {
    close();
    throw e;
  }
}
