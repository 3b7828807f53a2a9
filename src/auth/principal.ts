import type { Request } from 'express';

/** The principal of anyone when no API keys are configured (and of stdio, unless STDIO_PRINCIPAL says otherwise). */
export const ANONYMOUS = 'anonymous';

const principals = new WeakMap<Request, string>();

export function setPrincipal(req: Request, principal: string) {
  principals.set(req, principal);
}

/** The principal the auth middleware authenticated for this request (anonymous without keys). */
export function principalOf(req: Request): string {
  return principals.get(req) ?? ANONYMOUS;
}
