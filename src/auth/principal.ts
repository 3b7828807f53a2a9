import type { IncomingMessage } from 'node:http';

/** The principal of anyone when no API keys are configured (and of stdio, unless STDIO_PRINCIPAL says otherwise). */
export const ANONYMOUS = 'anonymous';

const principals = new WeakMap<IncomingMessage, string>();

export function setPrincipal(req: IncomingMessage, principal: string) {
  principals.set(req, principal);
}

/** The principal the auth middleware authenticated for this request (anonymous without keys). */
export function principalOf(req: IncomingMessage): string {
  return principals.get(req) ?? ANONYMOUS;
}
