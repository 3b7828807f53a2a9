import { CUA_PATHS } from '../../cua-protocol';

/** Where a cua computer-server listens, and the credentials it wants (if any). Only ever from settings. */
export interface CuaEndpoint {
  /** http(s) base URL, e.g. http://10.0.0.5:8000. */
  url: string;
  apiKey?: string;
  containerName?: string;
}

/** The time limit (and the caller's cancel signal) of one request to a server. */
export interface RequestOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The base URL shown in logs and errors: scheme, host and port only (never credentials or a path's secrets). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

/** A WebSocket address of the server (ws:// or wss://): `/ws` unless another path is given. */
export function wsUrlOf(base: string, path: string = CUA_PATHS.ws): string {
  const u = new URL(base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** One of the server's HTTP paths. */
export function httpUrlOf(base: string, path: string): string {
  const u = new URL(base);
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  u.search = '';
  u.hash = '';
  return u.toString();
}
