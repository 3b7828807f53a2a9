import { timingSafeEqual } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '../config/config.module';
import { AUTH_SETTINGS } from './auth.settings';
import { ApiKeyStore, parseApiKeys } from './api-key.store';

jest.mock('node:crypto', () => {
  const actual: typeof import('node:crypto') = jest.requireActual('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
const spy = timingSafeEqual as jest.MockedFunction<typeof timingSafeEqual>;

function store(env: Record<string, string>) {
  const sut = new ApiKeyStore(Settings.load(env).get(AUTH_SETTINGS));
  sut.onModuleInit();
  return sut;
}

describe(ApiKeyStore.name, () => {
  it('maps each key to its principal and refuses unknown, prefix and longer keys', () => {
    const sut = store({ API_KEYS: 'k-alice-123:alice, k:with:colon:bob' });
    expect(sut.enabled).toBe(true);
    expect(sut.principalFor('k-alice-123')).toBe('alice');
    expect(sut.principalFor('k:with:colon')).toBe('bob');
    expect(sut.principalFor('k-alice-12')).toBeUndefined();
    expect(sut.principalFor('k-alice-1234')).toBeUndefined();
    expect(sut.principalFor('')).toBeUndefined();
  });

  it('is disabled without keys', () => {
    expect(store({}).enabled).toBe(false);
  });

  it('compares fixed-length digests with crypto.timingSafeEqual, against every key whatever the match', () => {
    const sut = store({ API_KEYS: 'first:alice,second:bob,third:carol' });
    spy.mockClear();
    expect(sut.principalFor('first')).toBe('alice');
    expect(spy).toHaveBeenCalledTimes(3);
    for (const [a, b] of spy.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
    spy.mockClear();
    expect(sut.principalFor('a-much-longer-wrong-key-than-any-configured-one')).toBeUndefined();
    expect(spy).toHaveBeenCalledTimes(3);
  });

  it('re-reads API_KEYS_FILE when it changes (also when a secret mount swaps the file), and keeps the old keys when the new file is malformed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, '# team keys\nold-key:alice\n');
    const sut = store({ API_KEYS_FILE: file });
    expect(sut.principalFor('old-key')).toBe('alice');
    writeFileSync(join(dir, 'next'), 'new-key:alice\nbob-key:bob\n');
    renameSync(join(dir, 'next'), file);
    expect(sut.principalFor('old-key')).toBeUndefined();
    expect(sut.principalFor('new-key')).toBe('alice');
    expect(sut.principalFor('bob-key')).toBe('bob');
    writeFileSync(file, 'no principal here and a much longer line\n');
    expect(sut.principalFor('new-key')).toBe('alice');
  });

  it('a missing key file stops the start; parse errors never show the key', () => {
    expect(() => store({ API_KEYS_FILE: '/nonexistent/keys' })).toThrow(/API_KEYS_FILE \/nonexistent\/keys/);
    expect(() => parseApiKeys('ok:alice\nsup3r-secret-value')).toThrow(/entry 2/);
    expect(() => parseApiKeys('ok:alice\nsup3r-secret-value')).not.toThrow(/sup3r/);
    expect(() => parseApiKeys('same:alice,same:bob')).toThrow(/another principal/);
  });
});
