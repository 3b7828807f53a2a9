import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { retryAfterMs, toModelCallError } from './model-errors';
import { ModelCallError } from './model.port';

describe('model errors', () => {
  it('reads retry-after-ms, retry-after in seconds, and retry-after as an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Mon, 23 Nov 2026 10:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
  });

  it('a vendor error that echoes part of the key keeps its status and type, and loses every 8-character piece of the key', () => {
    const key = 'sk-ant-api03-Zq8vR2mKx7LpT4wN9cYb6HdF3jUe5sGa1oQi0kVh';
    const echoed = `invalid x-api-key ${key.slice(0, 24)}… (request headers: x-api-key: ${key.slice(13, 40)}\nAuthorization: Basic ${Buffer.from(`u:${key}`).toString('base64')})`;
    const e = toModelCallError(Anthropic.APIError.generate(401, { type: 'error', error: { type: 'authentication_error', message: echoed } }, undefined, new Headers()), Anthropic, [key]);
    expect(e).toMatchObject({ retryable: false, status: 401, message: '401 authentication_error: invalid x-api-key [redacted] (request headers: x-api-key: [redacted]\nAuthorization: Basic [redacted])' });
  });

  it('classifies OpenAI SDK errors: 429 and 5xx and network retryable, 401 fatal, user abort passed through', () => {
    const h = (o: Record<string, string> = {}) => new Headers(o);
    const limited = toModelCallError(OpenAI.APIError.generate(429, { error: { message: 'Rate limit reached', type: 'requests' } }, undefined, h({ 'retry-after': '1' })), OpenAI, []);
    expect(limited).toMatchObject({ retryable: true, status: 429, retryAfterMs: 1000, message: '429 requests: Rate limit reached' });
    const unauthorized = toModelCallError(
      OpenAI.APIError.generate(401, { error: { message: 'Incorrect API key provided: sk-abc***xyz9.', type: 'invalid_request_error' } }, undefined, h()),
      OpenAI,
      ['sk-abc-real-key'],
    );
    expect(unauthorized).toMatchObject({ retryable: false, status: 401 });
    expect(unauthorized.message).not.toMatch(/sk-abc\*/);
    expect(toModelCallError(new OpenAI.APIConnectionError({ message: 'Connection error.' }), OpenAI, [])).toMatchObject({ retryable: true });
    const abort = new OpenAI.APIUserAbortError();
    expect(toModelCallError(abort, OpenAI, [])).toBe(abort);
    expect(toModelCallError(Anthropic.APIError.generate(500, { type: 'error', error: { type: 'api_error', message: 'Internal' } }, undefined, h()), Anthropic, [])).toBeInstanceOf(ModelCallError);
  });
});
