import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How far a forwarded call's time may be from the receiver's clock, either way. */
export const SIGNATURE_WINDOW_MS = 30_000;

/** What a forwarding replica signs: the call, who made it, when, and which replica incarnation it is meant for. */
export interface SignedCall {
  readonly method: string;
  readonly path: string;
  /** The owner token (`id@epoch`) of the replica the call is meant for. */
  readonly target: string;
  /** The caller's identity as the forwarding replica proved it (the X-Cua-Identity header's value). */
  readonly identity: string;
  /** Milliseconds since the epoch, on the forwarding replica's clock. */
  readonly time: number;
  readonly body: Buffer;
}

function material(call: SignedCall): string {
  const digest = createHash('sha256').update(call.body).digest('hex');
  return [call.method, call.path, call.target, String(call.time), call.identity, digest].join('\n');
}

/** HMAC-SHA256 of the call with CLUSTER_SECRET, hex. */
export function signCall(secret: string, call: SignedCall): string {
  return createHmac('sha256', secret).update(material(call)).digest('hex');
}

/** Whether `signature` is the call's, made with `secret`, within SIGNATURE_WINDOW_MS of `now`. Constant-time compare. */
export function verifyCall(secret: string, call: SignedCall, signature: string, now: number): boolean {
  if (!Number.isSafeInteger(call.time) || Math.abs(now - call.time) > SIGNATURE_WINDOW_MS) return false;
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signCall(secret, call), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
