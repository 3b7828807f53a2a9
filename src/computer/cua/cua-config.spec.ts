import { AppConfig, ConfigValidationError } from '../../config/config.module';

/** The cua settings as AppConfig reads and cross-checks them at boot. */
describe('COMPUTER_PROVIDER=cua settings', () => {
  const problems = (env: Record<string, string>) => {
    try {
      AppConfig.fromEnv({ COMPUTER_PROVIDER: 'cua', ...env });
    } catch (e) {
      if (e instanceof ConfigValidationError) return e.message;
      throw e;
    }
    return '';
  };

  it('needs CUA_COMPUTER_URLS', () => {
    expect(problems({})).toMatch(/CUA_COMPUTER_URLS \(unset\): is required with COMPUTER_PROVIDER=cua/);
  });

  it('holds at most one computer per URL: an unset POOL_MAX_SIZE becomes the number of URLs', () => {
    const config = AppConfig.fromEnv({ COMPUTER_PROVIDER: 'cua', CUA_COMPUTER_URLS: 'http://10.0.0.5:8000, https://desk.example.com/' });
    expect(config.pool.maxSize).toBe(2);
    expect(config.computer.cua.urls).toEqual(['http://10.0.0.5:8000', 'https://desk.example.com']);
    expect(config.computer.cua.requestTimeoutMs).toBe(10_000);
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
    expect(AppConfig.fromEnv({ COMPUTER_PROVIDER: 'fake', CUA_API_KEY: 'sekrit-key' }).computer.cua.apiKey).toBe('sekrit-key');
    expect(problems({ CUA_COMPUTER_URLS: 'http://a:8000', CUA_CONTAINER_NAME: 'has space' })).toMatch(/CUA_CONTAINER_NAME/);
  });
});
