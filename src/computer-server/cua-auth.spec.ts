import { Settings } from '../config/config.module';
import { COMPUTER_SERVER_SETTINGS } from './computer-server.settings';
import { CuaAuthenticator } from './cua-auth';

const KEY = 'k'.repeat(20);
const make = (env: Record<string, string>) => new CuaAuthenticator(Settings.load(env).get(COMPUTER_SERVER_SETTINGS));

describe(CuaAuthenticator.name, () => {
  it('accepts everything when no key is configured', () => {
    const sut = make({});
    expect(sut.enabled).toBe(false);
    expect(sut.check(undefined, undefined)).toBeUndefined();
  });

  it('answers with the protocol texts: key required, failed, ok', () => {
    const sut = make({ COMPUTER_SERVER_API_KEY: KEY });
    expect(sut.enabled).toBe(true);
    expect(sut.check(undefined, undefined)).toBe('API key required');
    expect(sut.check('', undefined)).toBe('API key required');
    expect(sut.check(`${KEY}x`, undefined)).toBe('Authentication failed');
    expect(sut.check(KEY.slice(1), undefined)).toBe('Authentication failed');
    expect(sut.check(KEY, 'any-container')).toBeUndefined();
  });

  it('checks the container name only when one is configured', () => {
    const sut = make({ COMPUTER_SERVER_API_KEY: KEY, COMPUTER_SERVER_CONTAINER_NAME: 'desk-1' });
    expect(sut.check(KEY, undefined)).toBe('Container name required');
    expect(sut.check(KEY, 'desk-2')).toBe('Authentication failed');
    expect(sut.check('wrong-key-xxxxxxxxxx', 'desk-1')).toBe('Authentication failed');
    expect(sut.check(KEY, 'desk-1')).toBeUndefined();
  });

  it('refuses a container name without a key at boot', () => {
    expect(() => make({ COMPUTER_SERVER_CONTAINER_NAME: 'desk-1' })).toThrow(/COMPUTER_SERVER_CONTAINER_NAME.*set COMPUTER_SERVER_API_KEY too/);
  });
});
