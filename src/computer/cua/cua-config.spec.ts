import { ConfigValidationError, Settings } from '../../config/config.module';
import { POOL_SETTINGS } from '../../pool/pool.settings';
import { COMPUTER_SETTINGS } from '../computer.settings';
import { CLUSTER_SETTINGS } from '../../cluster/cluster.settings';
import { InMemoryComputerClaims, InMemoryReplicaDirectory, ThisReplica } from '../../cluster/cluster.module';
import { cuaHandle, CuaComputerProvider } from './cua-computer.provider';
import { CUA_SETTINGS } from './cua.settings';

/** The cua settings as they are read and cross-checked at boot. */
describe('COMPUTER_PROVIDER=cua settings', () => {
  const problems = (env: Record<string, string>) => {
    try {
      Settings.load({ COMPUTER_PROVIDER: 'cua', ...env });
    } catch (e) {
      if (e instanceof ConfigValidationError) return e.message;
      throw e;
    }
    return '';
  };

  it('needs CUA_COMPUTER_URLS', () => {
    expect(problems({})).toMatch(/CUA_COMPUTER_URLS \(unset\): is required with COMPUTER_PROVIDER=cua/);
  });

  it('holds at most one computer per URL: the provider\'s capacity is the number of URLs, which the pool keeps to', () => {
    const settings = Settings.load({ COMPUTER_PROVIDER: 'cua', CUA_COMPUTER_URLS: 'http://10.0.0.5:8000, https://desk.example.com/' });
    const replica = new ThisReplica(new InMemoryReplicaDirectory(), settings.get(CLUSTER_SETTINGS));
    const provider = new CuaComputerProvider(settings.get(CUA_SETTINGS), settings.get(COMPUTER_SETTINGS), settings.get(POOL_SETTINGS), new InMemoryComputerClaims(), replica);
    expect(provider.capacity()).toBe(2);
    expect(settings.get(CUA_SETTINGS).urls).toEqual(['http://10.0.0.5:8000', 'https://desk.example.com']);
    expect(settings.get(CUA_SETTINGS).requestTimeoutMs).toBe(10_000);
  });

  it('names a remote computer by its URL, never with the credentials a URL may carry', () => {
    expect(cuaHandle({ url: 'http://10.0.0.5:8000' })).toBe('cua:http://10.0.0.5:8000');
    expect(cuaHandle({ url: 'https://user:s3cret@desk.example.com/base/' })).toBe('cua:https://desk.example.com/base');
  });

  it('refuses an explicit POOL_MAX_SIZE or POOL_MIN_WARM above the number of URLs, saying why', () => {
    const msg = problems({ CUA_COMPUTER_URLS: 'http://a:8000,http://b:8000', POOL_MAX_SIZE: '5', POOL_MIN_WARM: '3' });
    expect(msg).toMatch(/POOL_MAX_SIZE="5": must not be above the 2 remote computers in CUA_COMPUTER_URLS \(each serves one session at a time\)/);
    expect(msg).toMatch(/POOL_MIN_WARM="3": must not be above the 2 remote computers/);
    expect(problems({ CUA_COMPUTER_URLS: 'http://a:8000,http://b:8000', POOL_MAX_SIZE: '2' })).toBe('');
  });

  it('refuses URLs that are not plain http(s) base URLs, without echoing credentials', () => {
    expect(problems({ CUA_COMPUTER_URLS: 'ftp://a:21' })).toMatch(/CUA_COMPUTER_URLS.*comma-separated list of http\(s\) URLs/);
    expect(problems({ CUA_COMPUTER_URLS: 'http://a:8000,http://a:8000/' })).toMatch(/lists the same URL twice/);
    expect(problems({ CUA_COMPUTER_URLS: 'http://a:8000/?token=x' })).toMatch(/without query or fragment/);
    const creds = problems({ CUA_COMPUTER_URLS: 'http://u:hunter2@a:8000' });
    expect(creds).toMatch(/must not carry credentials; set CUA_API_KEY instead/);
    expect(creds).not.toContain('hunter2');
  });

  it('never shows CUA_API_KEY in an error', () => {
    const msg = problems({ CUA_COMPUTER_URLS: 'http://a:8000', CUA_API_KEY: ' ', POOL_MAX_SIZE: 'x' });
    expect(msg).not.toContain('hunter');
    expect(Settings.load({ COMPUTER_PROVIDER: 'fake', CUA_API_KEY: 'sekrit-key' }).get(CUA_SETTINGS).apiKey).toBe('sekrit-key');
    expect(problems({ CUA_COMPUTER_URLS: 'http://a:8000', CUA_CONTAINER_NAME: 'has space' })).toMatch(/CUA_CONTAINER_NAME/);
  });
});
