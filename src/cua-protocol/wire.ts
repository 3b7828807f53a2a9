/**
 * The fixed parts of the cua computer-server protocol (see the protocol reference): where things
 * are, how big a message may be, the shapes of requests and replies, and authentication.
 */

export const CUA_PROTOCOL_VERSION = 1;
/** Largest message either side sends or accepts (one WS frame, one /cmd body). */
export const CUA_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
export const CUA_DEFAULT_PORT = 8000;

export const CUA_PATHS = { status: '/status', ws: '/ws', cmd: '/cmd', commands: '/commands', vnc: '/vnc' } as const;
/**
 * This project's addition, listed in `/status` features when the server offers it: `WS /vnc` is a
 * raw RFB (VNC) stream to the desktop, binary frames both ways, for the MCP server's live view
 * (which filters what its viewers send). Authenticated by the x-api-key / x-container-name headers
 * of the upgrade request.
 */
export const CUA_VNC_FEATURE = 'vnc';
export const CUA_HEADERS = { apiKey: 'x-api-key', containerName: 'x-container-name' } as const;

export type CuaOsType = 'linux' | 'macos' | 'windows';
/** `GET /status`. */
export interface CuaStatus {
  status: 'ok';
  os_type: CuaOsType;
  features?: string[];
}

export type CuaParams = Record<string, unknown>;
/** A request frame: `{"command": "...", "params": {...}}` (params may be omitted). */
export interface CuaRequest {
  command: string;
  params?: CuaParams;
}
export type CuaSuccess<T extends object = object> = { success: true } & T;
export interface CuaFailure {
  success: false;
  error: string;
}
export type CuaReply<T extends object = object> = CuaSuccess<T> | CuaFailure;
/** HTTP error bodies (`/cmd` 400/401, FastAPI style). */
export interface CuaHttpError {
  detail: string;
}

// --- Authentication ---------------------------------------------------------------------------

export const CUA_AUTH_COMMAND = 'authenticate';
export interface CuaAuthParams {
  api_key?: string;
  container_name?: string;
}
/** The exact texts of the authentication replies (WS `message`/`error`, HTTP 401 `detail`). */
export const CUA_AUTH_MESSAGES = {
  ok: 'Authentication successful',
  firstMessage: 'First message must be authentication',
  keyRequired: 'API key required',
  containerRequired: 'Container name required',
  failed: 'Authentication failed',
} as const;
