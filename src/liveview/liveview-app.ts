/** Where a `live_view` result carries what a view outside this server's origin needs: a token of its own and the WebSocket's address. */
export const LIVE_VIEW_APP_META = 'cua-mcp-server/live-view';

/** What `live_view` puts in its result's `_meta` for a view in a chat host (never meant for the model). */
export interface LiveViewAppTicket {
  /** A link token for that view alone (the link in the text stays the person's): spent by the view's WebSocket. */
  token: string;
  /** The WebSocket to open, with `?token=`. */
  websocket: string;
  expires_at: string;
}

/** The WebSocket address of a view (`/live/<viewId>/ws`) on this server at `baseUrl`. */
export function liveViewWebSocket(baseUrl: string, viewId: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/live/${viewId}/ws`;
}
