import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/** The packages the host page imports, from this checkout's node_modules. */
const NODE_MODULES = join(__dirname, '..', '..', 'node_modules');
const SERVED = ['@modelcontextprotocol/ext-apps/', '@modelcontextprotocol/sdk/', 'zod/', 'zod-to-json-schema/'];

/** The bare imports of the extension's AppBridge (and of the SDK modules it uses), for the browser. */
const IMPORT_MAP = {
  imports: {
    '@modelcontextprotocol/ext-apps/app-bridge': '/m/@modelcontextprotocol/ext-apps/dist/src/app-bridge.js',
    '@modelcontextprotocol/sdk/': '/m/@modelcontextprotocol/sdk/dist/esm/',
    'zod/v4': '/m/zod/v4/index.js',
    'zod/v3': '/m/zod/v3/index.js',
    'zod/v4-mini': '/m/zod/v4-mini/index.js',
    'zod-to-json-schema': '/m/zod-to-json-schema/dist/esm/index.js',
  },
};

/**
 * A web page that plays an MCP Apps host, as a chat client would: the extension's own host side
 * (`AppBridge` from `@modelcontextprotocol/ext-apps/app-bridge`) talking over postMessage to an app
 * in a sandboxed frame (`sandbox="allow-scripts"`: an opaque origin, neither the host's nor the MCP
 * server's), whose HTML comes from the app's `ui://` resource with a Content-Security-Policy built
 * from the resource's `_meta.ui.csp` the way the extension's specification says a host builds it.
 * The host's MCP client is the test's: the page forwards the app's `tools/call` to
 * `window.hostCallTool`, which the test provides. It offers the display modes inline and fullscreen
 * and records what it was asked in `window.hostLog`.
 */
const HOST_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Test MCP Apps host</title>
<link rel="icon" href="data:,">
<script type="importmap">${JSON.stringify(IMPORT_MAP)}</script>
<style>
  body { margin: 0; font: 14px sans-serif; }
  #app { display: block; border: 0; width: 900px; height: 600px; }
  body.fullscreen #app { position: fixed; inset: 0; width: 100vw; height: 100vh !important; }
</style>
</head>
<body>
<iframe id="app" title="MCP App" sandbox="allow-scripts"></iframe>
<script type="module">
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

window.hostLog = [];

/** The frame's policy from the resource's declared origins (the specification's "CSP Construction from Metadata"). */
function policyOf(csp = {}) {
  const list = (domains) => (domains ?? []).join(' ');
  return [
    "default-src 'none'",
    "script-src 'self' 'unsafe-inline' " + list(csp.resourceDomains),
    "style-src 'self' 'unsafe-inline' " + list(csp.resourceDomains),
    "connect-src 'self' " + list(csp.connectDomains),
    "img-src 'self' data: " + list(csp.resourceDomains),
    "font-src 'self' " + list(csp.resourceDomains),
    "media-src 'self' data: " + list(csp.resourceDomains),
    'frame-src ' + (list(csp.frameDomains) || "'none'"),
    "object-src 'none'",
    'base-uri ' + (list(csp.baseUriDomains) || "'self'"),
  ].join('; ');
}

window.renderApp = async ({ html, csp, toolInput, toolResult }) => {
  const frame = document.getElementById('app');
  let context = { theme: 'dark', platform: 'web', displayMode: 'inline', availableDisplayModes: ['inline', 'fullscreen'], containerDimensions: { width: 900, maxHeight: 1200 } };
  const bridge = new AppBridge(null, { name: 'test-host', version: '1.0.0' }, { serverTools: {}, logging: {} }, { hostContext: context });
  bridge.oncalltool = (params) => {
    window.hostLog.push('tools/call ' + params.name + ' ' + (params.arguments?.action ?? ''));
    return window.hostCallTool(params);
  };
  bridge.onrequestdisplaymode = async ({ mode }) => {
    window.hostLog.push('display-mode ' + mode);
    document.body.classList.toggle('fullscreen', mode === 'fullscreen');
    context = { ...context, displayMode: mode };
    bridge.setHostContext(context);
    return { mode };
  };
  bridge.onsizechange = ({ height }) => {
    if (height && context.displayMode === 'inline') frame.style.height = height + 'px';
  };
  const initialized = new Promise((resolve) => (bridge.oninitialized = resolve));
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  const policy = policyOf(csp).replace(/"/g, '&quot;');
  frame.srcdoc = html.replace(/<head>/i, '<head><meta http-equiv="Content-Security-Policy" content="' + policy + '">');
  await initialized;
  window.hostLog.push('initialized');
  await bridge.sendToolInput({ arguments: toolInput });
  await bridge.sendToolResult(toolResult);
};
window.hostReady = true;
</script>
</body>
</html>`;

export interface McpAppHost {
  /** The host page, on an origin of its own (another port of 127.0.0.1). */
  url: string;
  close(): Promise<void>;
}

/** Serves the host page and the modules it imports on a free loopback port. */
export async function startMcpAppHost(): Promise<McpAppHost> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://host').pathname);
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      return res.end(HOST_PAGE);
    }
    const file = path.startsWith('/m/') ? normalize(path.slice(3)) : '';
    if (!file.endsWith('.js') || file.includes('..') || !SERVED.some((p) => file.startsWith(p))) {
      res.writeHead(404);
      return res.end();
    }
    const stream = createReadStream(join(NODE_MODULES, file));
    stream.once('open', () => res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }));
    stream.once('error', () => {
      if (!res.headersSent) res.writeHead(404);
      res.end();
    });
    stream.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
