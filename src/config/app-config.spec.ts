import { AppConfig, ConfigValidationError } from './config.module';

describe(AppConfig.name, () => {
  it('applies the documented defaults', () => {
    const sut = AppConfig.fromEnv({});
    expect(sut.http).toEqual({ host: '127.0.0.1', port: 3000, allowedHosts: [], allowedOrigins: [] });
    expect(sut.auth).toEqual({ apiKeys: undefined, apiKeysFile: undefined, stdioPrincipal: 'anonymous' });
    expect(sut.session.maxSessionsPerPrincipal).toBe(10);
    expect(sut.pool).toMatchObject({ maxSize: 5, acquireTimeoutMs: 30000 });
    expect(sut.session).toMatchObject({ maxSessions: 10, sweepIntervalMs: 60000, idleTimeoutMs: 600000 });
    expect(sut.agent).toMatchObject({ scriptedSteps: 4, scriptedStepMs: 0 });
    expect(sut.shutdown.graceMs).toBe(30000);
    expect(sut.computer.provider).toBe('xvfb');
  });

  it('reads numbers and trims values', () => {
    const sut = AppConfig.fromEnv({ PORT: ' 8080 ', POOL_MAX_SIZE: '7', COMPUTER_PROVIDER: 'fake' });
    expect(sut.http.port).toBe(8080);
    expect(sut.pool.maxSize).toBe(7);
    expect(sut.computer.provider).toBe('fake');
  });

  it('names every bad key at once', () => {
    let err: unknown;
    try {
      AppConfig.fromEnv({ PORT: 'eighty', POOL_MAX_SIZE: '0', CUA_MODEL_NAME: 'no-slash', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValidationError);
    const keys = (err as ConfigValidationError).problems.map((p) => p.key).sort();
    expect(keys).toEqual(['CUA_MODEL_NAME', 'LOG_LEVEL', 'POOL_MAX_SIZE', 'PORT']);
    expect((err as Error).message).toMatch(/PORT="eighty"/);
  });

  it('agent settings: a current Claude model by default, the allowed models, and keys never printed', () => {
    const sut = AppConfig.fromEnv({});
    expect(sut.agent).toMatchObject({
      modelName: 'anthropic/claude-sonnet-5-5',
      modelNameExplicit: false,
      allowedModels: ['anthropic/claude-sonnet-5-5'],
      maxSteps: 50,
      taskTimeoutMs: 900000,
      maxImages: 3,
      maxTokensPerTask: 2000000,
      ackSafetyChecks: false,
      anthropic: { baseUrl: 'https://api.anthropic.com', computerTool: 'auto' },
      openai: { baseUrl: 'https://api.openai.com/v1', computerTool: 'auto' },
      trajectories: { maxAgeMs: 604800000 },
    });
    const set = AppConfig.fromEnv({ CUA_MODEL_NAME: 'openai/gpt-5.4', AGENT_ALLOWED_MODELS: 'scripted/demo, openai/gpt-5.4', AGENT_ACK_SAFETY_CHECKS: 'true' });
    expect(set.agent).toMatchObject({ modelNameExplicit: true, allowedModels: ['openai/gpt-5.4', 'scripted/demo'], ackSafetyChecks: true });
    let err: unknown;
    try {
      AppConfig.fromEnv({ OPENAI_API_KEY: ' \t ', ANTHROPIC_BASE_URL: 'ftp://example.com', AGENT_ALLOWED_MODELS: 'no-slash', OPENAI_COMPATIBLE_API_KEY: '' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigValidationError).problems.map((p) => p.key).sort()).toEqual(['AGENT_ALLOWED_MODELS', 'ANTHROPIC_BASE_URL', 'OPENAI_API_KEY']);
    expect((err as Error).message).toMatch(/OPENAI_API_KEY=\(secret\)/);
    expect((err as Error).message).toMatch(/ANTHROPIC_BASE_URL="ftp:\/\/example.com": ANTHROPIC_BASE_URL must be an http\(s\) URL/);
    expect(() => AppConfig.fromEnv({ ANTHROPIC_API_KEY: '', AGENT_RETRY_BASE_MS: '500', AGENT_RETRY_MAX_MS: '100' })).toThrow(/AGENT_RETRY_MAX_MS/);
  });

  it('auth settings: API_KEYS is a secret never printed, one key source only, per-principal cap at most MAX_SESSIONS', () => {
    const sut = AppConfig.fromEnv({ API_KEYS: 'k1:alice', MAX_SESSIONS: '4', MAX_SESSIONS_PER_PRINCIPAL: '9', ALLOWED_HOSTS: 'MCP.example.com, b', ALLOWED_ORIGINS: 'https://app.example.com/' });
    expect(sut.auth.apiKeys).toBe('k1:alice');
    expect(sut.session.maxSessionsPerPrincipal).toBe(4);
    expect(sut.http).toMatchObject({ allowedHosts: ['mcp.example.com', 'b'], allowedOrigins: ['https://app.example.com'] });
    let err: unknown;
    try {
      AppConfig.fromEnv({ API_KEYS: 'sekrit-no-principal', STDIO_PRINCIPAL: 'bad name', ALLOWED_ORIGINS: 'app.example.com' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigValidationError).problems.map((p) => p.key).sort()).toEqual(['ALLOWED_ORIGINS', 'API_KEYS', 'STDIO_PRINCIPAL']);
    expect((err as Error).message).toMatch(/API_KEYS=\(secret\)/);
    expect((err as Error).message).not.toMatch(/sekrit/);
    expect(() => AppConfig.fromEnv({ API_KEYS: 'k:a', API_KEYS_FILE: '/run/keys' })).toThrow(/API_KEYS_FILE.*not both/);
  });

  it('LOG_FORMAT: json in production, pretty otherwise, unless set', () => {
    expect(AppConfig.fromEnv({}).log).toEqual({ level: 'info', format: 'pretty' });
    expect(AppConfig.fromEnv({ NODE_ENV: 'production' }).log.format).toBe('json');
    expect(AppConfig.fromEnv({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }).log.format).toBe('pretty');
    expect(AppConfig.fromEnv({ LOG_FORMAT: 'json' }).log.format).toBe('json');
    expect(() => AppConfig.fromEnv({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('screen settling: measured defaults, 0 turns the wait off, and no window may be longer than the cap', () => {
    expect(AppConfig.fromEnv({}).computer.settle).toEqual({ quietMs: 50, firstChangeMs: 300, maxMs: 2000 });
    expect(AppConfig.fromEnv({}).computer.cua.settleDelayMs).toBe(500);
    expect(AppConfig.fromEnv({ SCREENSHOT_SETTLE_MAX_MS: '0', SCREENSHOT_SETTLE_QUIET_MS: '100' }).computer.settle).toEqual({ quietMs: 100, firstChangeMs: 300, maxMs: 0 });
    let err: unknown;
    try {
      AppConfig.fromEnv({ SCREENSHOT_SETTLE_MAX_MS: '200', SCREENSHOT_SETTLE_QUIET_MS: '500', SCREENSHOT_SETTLE_FIRST_CHANGE_MS: '300', CUA_SETTLE_DELAY_MS: '-1' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigValidationError).problems.map((p) => p.key).sort()).toEqual(['CUA_SETTLE_DELAY_MS', 'SCREENSHOT_SETTLE_FIRST_CHANGE_MS', 'SCREENSHOT_SETTLE_QUIET_MS']);
    expect((err as Error).message).toMatch(/SCREENSHOT_SETTLE_QUIET_MS="500": must not be above SCREENSHOT_SETTLE_MAX_MS \(200\)/);
    expect(() => AppConfig.fromEnv({ SCREENSHOT_SETTLE_QUIET_MS: '0' })).toThrow(/SCREENSHOT_SETTLE_QUIET_MS/);
  });

  it('rejects a max idle timeout below the default idle timeout', () => {
    expect(() => AppConfig.fromEnv({ SESSION_IDLE_TIMEOUT_MS: '60000', SESSION_MAX_IDLE_TIMEOUT_MS: '5000' })).toThrow(/SESSION_MAX_IDLE_TIMEOUT_MS/);
  });
});
