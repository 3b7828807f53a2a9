import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The MCP tools the e2e tests drive the server with, pinned with their lockfile in test/mcp-tools/ and installed
 * there by scripts/setup.sh: the official conformance suite (@modelcontextprotocol/conformance) and the Inspector's
 * CLI (@modelcontextprotocol/inspector). Both need Node 22; the `node` package there ships it, for them alone (the
 * project itself runs on Node 20).
 */
const DIR = join(__dirname, '..', 'mcp-tools');

const pinned = (JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;

/** The absolute path of an installed package's executable; throws, saying what to do, when it is missing or not the pinned version. */
function bin(pkg: string, name: string): string {
  const manifest = join(DIR, 'node_modules', pkg, 'package.json');
  const fix = 'Install them with `bash scripts/setup.sh` (or just `npm ci --prefix test/mcp-tools`).';
  if (!existsSync(manifest)) throw new Error(`The MCP test tools are not installed (${pkg} is missing from test/mcp-tools/node_modules). ${fix}`);
  const { version, bin: bins } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string; bin: Record<string, string> };
  if (version !== pinned[pkg]) throw new Error(`test/mcp-tools has ${pkg}@${version}, but ${pinned[pkg]} is pinned in test/mcp-tools/package.json. ${fix}`);
  const path = join(DIR, 'node_modules', pkg, bins[name]);
  if (!existsSync(path)) throw new Error(`${pkg}@${version} has no ${bins[name]}: its install did not finish. ${fix}`);
  return path;
}

export const mcpTools = {
  /** Node 22 (the project's own Node is 20). */
  node: () => bin('node', 'node'),
  conformance: () => bin('@modelcontextprotocol/conformance', 'conformance'),
  inspector: () => bin('@modelcontextprotocol/inspector', 'mcp-inspector'),
  versions: pinned,
};

export interface ToolRun {
  /** The exit code; -1 when the process was killed (the time limit). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` (a tool's executable) on Node 22 with `args`, and resolves when it exits, whatever its exit code. It
 * is killed after `timeoutMs`. `env` is the whole environment it gets.
 */
export function runOnNode22(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(mcpTools.node(), [script, ...args], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
