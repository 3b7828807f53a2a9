import type { IncomingMessage } from 'node:http';

/** The value of cookie `name` in a request's Cookie header, or undefined. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie value of a live-view grant: readable by no script (HttpOnly), sent over HTTPS
 * only (browsers also accept Secure cookies from http://localhost and 127.0.0.1), never on a
 * request another site starts (SameSite=Strict), and only to this session's page (Path).
 */
export function grantCookie(name: string, value: string, viewId: string, maxAgeMs: number): string {
  return pageCookie(name, value, `/live/${viewId}/`, maxAgeMs);
}

/** The same, for the page at `path` (a dashboard's grant: `/live/dashboard/<id>/`). */
export function pageCookie(name: string, value: string, path: string, maxAgeMs: number): string {
  return `${name}=${value}; Path=${path}; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; Secure; SameSite=Strict`;
}
