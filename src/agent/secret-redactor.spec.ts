import '../app.module';
import { Settings } from '../config/config.module';
import { echoForms, looksLikeKey, MIN_FRAGMENT, redact, Redactor, SecretRedactor } from './secret-redactor';

// Made-up keys in the vendors' shapes.
const ANTHROPIC_KEY = 'sk-ant-api03-Zq8vR2mKx7LpT4wN9cYb6HdF3jUe5sGa1oQi0kVh-Tr4Yw2Aa';
const OPENAI_KEY = 'sk-proj-Hf7Kq2Lw9Xc4Vb1Nm6Rt3Yp8Sd5Gj0Ze';
/** An API_KEYS key a person chose: characters that URL encoding changes. */
const OWN_KEY = 'p@ss/w0rd+Key=2026!x';

/** Every run of MIN_FRAGMENT characters of `s`. */
const fragmentsOf = (s: string) => Array.from({ length: s.length - MIN_FRAGMENT + 1 }, (_, i) => s.slice(i, i + MIN_FRAGMENT));

/** Fails naming the first fragment of a secret (or of one of its encoded forms) that is still in `text`. */
function expectNoFragment(text: string, secret: string) {
  for (const form of echoForms(secret)) {
    for (const f of fragmentsOf(form)) if (text.includes(f)) throw new Error(`"${f}" (of ${form === secret ? 'the key' : `form ${form}`}) is still in: ${text}`);
  }
}

describe(Redactor.name, () => {
  const sut = new Redactor([ANTHROPIC_KEY, OPENAI_KEY, OWN_KEY]);
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it.each([
    ['the whole key', `401 authentication_error: invalid key ${ANTHROPIC_KEY} given`, ANTHROPIC_KEY, '401 authentication_error: invalid key [redacted] given'],
    ['a truncated key', `Incorrect API key provided: ${ANTHROPIC_KEY.slice(0, 20)}…${ANTHROPIC_KEY.slice(-4)}.`, ANTHROPIC_KEY, 'Incorrect API key provided: [redacted].'],
    ['a key with its middle elided', `key ${ANTHROPIC_KEY.slice(13, 25)}****${ANTHROPIC_KEY.slice(-10)} rejected`, ANTHROPIC_KEY, 'key [redacted] rejected'],
    ['a key cut after 8 characters', `got '${OPENAI_KEY.slice(8, 16)}...'`, OPENAI_KEY, "got '[redacted]'"],
    ['a URL-encoded key', `GET /v1/models?api_key=${encodeURIComponent(OWN_KEY)}&limit=1 failed`, OWN_KEY, 'GET /v1/models?api_key=[redacted]&limit=1 failed'],
    ['a URL-encoded key in lower-case hex, anywhere', `echo ${encodeURIComponent(OWN_KEY).toLowerCase().replace(/key/g, 'Key')} here`, OWN_KEY, 'echo [redacted] here'],
    ['base64 in a Basic auth header', `Authorization: Basic ${b64(`user:${OPENAI_KEY}`)}`, OPENAI_KEY, 'Authorization: Basic [redacted]'],
    ['base64 with no marker, at each alignment', `a ${b64(OPENAI_KEY)} b ${b64(`:${OPENAI_KEY}`)} c ${b64(`ab${OPENAI_KEY}`)} d`, OPENAI_KEY, 'a [redacted] b [redacted] c [redacted] d'],
    ['an echoed request', `POST /v1/messages\nx-api-key: ${ANTHROPIC_KEY}\nAuthorization: Bearer ${ANTHROPIC_KEY}\ncontent-type: application/json`, ANTHROPIC_KEY, 'POST /v1/messages\nx-api-key: [redacted]\nAuthorization: Bearer [redacted]\ncontent-type: application/json'],
    ['a key split across lines', `the key was ${ANTHROPIC_KEY.slice(0, 30)}\n    ${ANTHROPIC_KEY.slice(30)} (wrapped)`, ANTHROPIC_KEY, 'the key was [redacted] (wrapped)'],
    ['a key split by an escaped line break in echoed JSON', `{"echo":"${OPENAI_KEY.slice(0, 19)}\\n${OPENAI_KEY.slice(19)}"}`, OPENAI_KEY, '{"echo":"[redacted]"}'],
  ])('redacts %s', (_what, text, secret, expected) => {
    const out = sut.all(text);
    expectNoFragment(out, secret);
    expect(out).toBe(expected);
  });

  it('redacts credentials after markers even when they are not configured', () => {
    expect(sut.all('x-api-key: totally-unknown-value\nAuthorization: Bearer abc123def\n"api_key": "zzz-local-9"')).toBe(
      'x-api-key: [redacted]\nAuthorization: Bearer [redacted]\n"api_key": "[redacted]"',
    );
    expect(sut.all('OPENAI_API_KEY=abcdef1234, password=hunter2 and GET /x?key=AbC123&q=1')).toBe('OPENAI_API_KEY=[redacted], password=[redacted] and GET /x?key=[redacted]&q=1');
    expect(sut.all('sk-other-0123456789 and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc')).toBe('sk-[redacted] and [redacted]');
  });

  it('redacts long high-entropy tokens that look like keys, of any vendor', () => {
    expect(sut.all('google AIzaSyD3x8Jq2LmN7pQr5TvW1yZ0bC4dE6fG8hK, hex 3f9a1c0b7e2d4f6a8b9c0d1e2f3a4b5c, github ghp_R8fK2mQ9xL4vT7wZ1nB5cY3dH6jP0sA2eG8u')).toBe(
      'google [redacted], hex [redacted], github [redacted]',
    );
  });

  it('keeps what the user needs to read: status, error type, the vendor\'s words, model names, request ids, URLs', () => {
    const text =
      '429 rate_limit_error: Number of request tokens has exceeded your per-minute rate limit for claude-sonnet-4-5-20250929 ' +
      '(request req_011CV3PZ8GGxx4nWV7Yx6Yoh, trace 123e4567-e89b-12d3-a456-426614174000); see https://docs.anthropic.com/en/api/rate-limits. ' +
      'Basic authentication is not supported; use a Bearer token. Model Qwen2-VL-72B-Instruct-AWQ, beta computer-use-2025-01-24, InvalidRequestError.';
    expect(sut.all(text)).toBe(text);
    expect(sut.all('401 authentication_error: invalid x-api-key')).toBe('401 authentication_error: invalid x-api-key');
  });

  it('secrets() removes only the configured secrets: ids and other tokens in recorded model output stay', () => {
    const out = sut.secrets(`msg_01AbCdEf23GhIj45KlMn67 said ${ANTHROPIC_KEY.slice(5, 40)} and AIzaSyD3x8Jq2LmN7pQr5TvW1yZ0bC4dE6fG8hK`);
    expect(out).toBe('msg_01AbCdEf23GhIj45KlMn67 said [redacted] and AIzaSyD3x8Jq2LmN7pQr5TvW1yZ0bC4dE6fG8hK');
    expect(sut.secretsDeep({ a: [`x ${OPENAI_KEY}`], n: 3, b: { c: `Bearer ${b64(`u:${OPENAI_KEY}`)}` } })).toEqual({ a: ['x [redacted]'], n: 3, b: { c: 'Bearer [redacted]' } });
  });

  it('short secrets are redacted where they appear whole; fragments below 8 characters are not secrets', () => {
    expect(new Redactor(['abcd-12']).all('got abcd-12 and abcd-1')).toBe('got [redacted] and abcd-1');
    expect(redact('bad key abcd-SECRET-1234 and sk-proj-AbCdEf123456', ['abcd-SECRET-1234'])).toBe('bad key [redacted] and sk-[redacted]');
  });

  it('looksLikeKey: random base62 tokens yes; words, CamelCase, model names and version strings no', () => {
    for (const key of ['aB3dE5gH7jK9mN1pQ3sTuV', 'q7ZK2xwP9LmT4RbN0vYc8H', 'f3a9c0b7e2d4f6a8b9c0d1e2f3a4b5c6d7e8f9a0']) expect(looksLikeKey(key)).toBe(true);
    for (const word of ['ThisIsCamelCase2Words', 'InvalidRequestError2024', 'claude-opus-4-1-20250805', 'x86_64-unknown-linux-gnu2', 'computer-use-2025-01-24', 'req_011CV3PZ8GGxx4nWV7Yx6Yoh']) {
      expect(looksLikeKey(word)).toBe(false);
    }
  });
});

describe(SecretRedactor.name, () => {
  it('knows every configured secret: model keys, API_KEYS keys, METRICS_TOKEN, the cua and computer-server keys', () => {
    // Every built-in feature's settings are registered (by importing the app), as in the server.
    const settings = Settings.load({
      COMPUTER_PROVIDER: 'fake',
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_COMPATIBLE_API_KEY: 'local-vllm-key-123',
      API_KEYS: `${OWN_KEY}:alice, second:key:with:colons:bob`,
      METRICS_TOKEN: 'metrics-token-4567',
      CUA_API_KEY: 'cua-remote-key-890',
    });
    expect(settings.secretValues().sort()).toEqual(
      [ANTHROPIC_KEY, OPENAI_KEY, 'local-vllm-key-123', OWN_KEY, 'second:key:with:colons', 'metrics-token-4567', 'cua-remote-key-890'].sort(),
    );
    const sut = new SecretRedactor(settings);
    const echo = `401 unauthorized (echo: ${OWN_KEY.slice(2, 12)}, ${ANTHROPIC_KEY.slice(10, 30)}, h=${Buffer.from(`bob:${OWN_KEY}`).toString('base64')})`;
    const out = sut.redact(echo);
    for (const s of [OWN_KEY, ANTHROPIC_KEY]) expectNoFragment(out, s);
    expect(out).toBe('401 unauthorized (echo: [redacted], [redacted], h=[redacted])');
  });
});
