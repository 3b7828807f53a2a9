import { AppConfig, ConfigValidationError } from './config.module';

describe(AppConfig.name, () => {
  it('applies the documented defaults', () => {
    const sut = AppConfig.fromEnv({});
    expect(sut.http).toEqual({ host: '127.0.0.1', port: 3000 });
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

  it('rejects a max idle timeout below the default idle timeout', () => {
    expect(() => AppConfig.fromEnv({ SESSION_IDLE_TIMEOUT_MS: '60000', SESSION_MAX_IDLE_TIMEOUT_MS: '5000' })).toThrow(/SESSION_MAX_IDLE_TIMEOUT_MS/);
  });
});
