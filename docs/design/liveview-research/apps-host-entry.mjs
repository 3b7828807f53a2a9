import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';
window.startHost = async (html) => {
  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts allow-same-origin');
  iframe.srcdoc = html; document.body.append(iframe);
  await new Promise((r) => iframe.addEventListener('load', r, { once: true }));
  const bridge = new AppBridge(null, { name: 'test-host', version: '1.0.0' }, { serverTools: {}, openLinks: {} }, { hostContext: { displayMode: 'inline', availableDisplayModes: ['inline', 'fullscreen'] } });
  window.initialized = new Promise((r) => (bridge.oninitialized = r));
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  await window.initialized;
  await bridge.sendToolInput({ arguments: { session_id: 's1' } });
  await bridge.sendToolResult({ content: [{ type: 'text', text: 'live' }], structuredContent: { url: 'http://example.invalid/live/s1' } });
  window.bridge = bridge; return 'ok';
};
