import { ModelCallError } from './model.port';
import { redact } from './secret-redactor';

type ErrorClass = abstract new (...args: never[]) => Error;

/** The error classes of a Stainless-generated vendor SDK (`@anthropic-ai/sdk`, `openai`): they share these shapes. */
export interface VendorSdkErrors {
  APIError: ErrorClass;
  APIConnectionError: ErrorClass;
  APIUserAbortError: ErrorClass;
}

interface ApiErrorShape {
  status?: number;
  headers?: Headers;
  error?: unknown;
  type?: string | null;
  apiMessage?: string | null;
  message: string;
}

const RETRYABLE = new Set([408, 409, 425, 429]);

/** Milliseconds the server asked us to wait (`retry-after-ms`, or `retry-after` in seconds or as an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (headers?.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function vendorMessage(e: ApiErrorShape): string {
  const body = (e.error ?? {}) as { message?: unknown; type?: unknown; error?: { message?: unknown; type?: unknown } };
  const message = e.apiMessage ?? (typeof body.message === 'string' ? body.message : undefined) ?? (typeof body.error?.message === 'string' ? body.error.message : undefined);
  const type = e.type ?? (typeof body.type === 'string' && body.type !== 'error' ? body.type : undefined) ?? (typeof body.error?.type === 'string' ? body.error.type : undefined);
  if (!message) return e.message;
  return `${e.status ?? ''} ${type ? `${type}: ` : ''}${message}`.trim();
}

/**
 * Classifies an error thrown by a vendor SDK call for the agent loop: rate limits, overload, 5xx and network
 * failures are retryable (with the server's retry-after); anything else is fatal with the vendor's message.
 * A user abort is passed through (the loop reports the cancellation). The given secrets, in any echoed form, and
 * anything shaped like a credential never reach the message (see secret-redactor.ts).
 */
export function toModelCallError(e: unknown, sdk: VendorSdkErrors, secrets: readonly (string | undefined)[]): Error {
  if (e instanceof sdk.APIUserAbortError) return e;
  if (e instanceof sdk.APIConnectionError) {
    return new ModelCallError(redact(`could not reach the model server: ${e.message}`, secrets), { retryable: true });
  }
  if (e instanceof sdk.APIError) {
    const err = e as unknown as ApiErrorShape;
    const status = err.status;
    const retryable = status !== undefined && (RETRYABLE.has(status) || status >= 500);
    return new ModelCallError(redact(vendorMessage(err), secrets), { retryable, status, retryAfterMs: retryAfterMs(err.headers) });
  }
  return e instanceof Error ? new ModelCallError(redact(e.message, secrets), { retryable: false }) : new ModelCallError(String(e), { retryable: false });
}
