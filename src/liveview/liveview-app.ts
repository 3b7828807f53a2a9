import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The live view as an MCP App (the MCP Apps extension, `io.modelcontextprotocol/ui`, spec 2026-01-26):
 * `live_view` names this `ui://` resource in its `_meta.ui.resourceUri`, and a host that supports MCP Apps
 * renders it in a sandboxed frame in the conversation and hands it the tool's result.
 */
export const LIVE_VIEW_APP_URI = 'ui://cua-mcp-server/live-view.html';
/** The MIME type of an MCP App's HTML resource. */
export const MCP_APP_MIME_TYPE = 'text/html;profile=mcp-app';
/** Where a `live_view` result carries what its MCP App needs: a token of its own and the WebSocket's address. */
export const LIVE_VIEW_APP_META = 'cua-mcp-server/live-view';

/** What `live_view` puts in its result's `_meta` for the MCP App (never meant for the model). */
export interface LiveViewAppTicket {
  /** A link token for the app alone (the link in the text stays the person's): spent by the app's WebSocket. */
  token: string;
  /** The WebSocket to open, with `?token=`. */
  websocket: string;
  expires_at: string;
}

/** The origins the app's page reaches, as its resource declares them (`_meta.ui.csp`): the host builds the frame's CSP from them. */
export interface LiveViewAppCsp {
  /** This server's origin: the app's script, noVNC's modules and the MCP Apps client, all served under /live/assets/. */
  resourceDomains: string[];
  /** This server's WebSocket origin (ws:// or wss://): the RFB stream. */
  connectDomains: string[];
}

const TEMPLATE = join(__dirname, 'assets', 'app.html');
let template: string | undefined;

const escapeAttribute = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The app's HTML, loading its script from this server at `baseUrl`. */
export function liveViewAppHtml(baseUrl: string): string {
  template ??= readFileSync(TEMPLATE, 'utf8');
  return template.replaceAll('{{BASE_URL}}', escapeAttribute(baseUrl));
}

export function liveViewAppCsp(baseUrl: string): LiveViewAppCsp {
  const origin = new URL(baseUrl).origin;
  return { resourceDomains: [origin], connectDomains: [origin.replace(/^http/, 'ws')] };
}

/** The WebSocket address of a view (`/live/<viewId>/ws`) on this server at `baseUrl`. */
export function liveViewWebSocket(baseUrl: string, viewId: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/live/${viewId}/ws`;
}
