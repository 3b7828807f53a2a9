import { startApp, type TestApp } from './support/app';
import { startRedisServer, type RedisServer } from './support/redis-server';
import { waitFor } from './support/wait-for';

/** The server with REDIS_URL, against a real redis-server on a loopback port. */
describe('Redis (REDIS_URL)', () => {
  let redis: RedisServer;
  let t: TestApp | undefined;
  const ready = async (app: TestApp) => {
    const res = await fetch(app.url.replace('/mcp', '/health/ready'));
    return { status: res.status, body: (await res.json()) as { info?: Record<string, unknown>; error?: Record<string, { reason?: string }> } };
  };

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('is ready only while Redis answers: not ready while it is away, ready again once it is back', async () => {
    t = await startApp({ REDIS_URL: redis.url });
    const app = t;
    expect(await ready(app)).toMatchObject({ status: 200, body: { info: { registry: { status: 'up', backend: 'redis' } } } });
    await redis.kill();
    const down = await ready(app);
    expect(down.status).toBe(503);
    expect(down.body.error?.registry?.reason).toMatch(new RegExp(`Redis at 127\\.0\\.0\\.1:${redis.port}\\) is unreachable`));
    await redis.restart();
    await waitFor('readiness to come back', async () => (await ready(app)).status === 200, 15_000);
  });

  it('without REDIS_URL, readiness says the registry is in memory', async () => {
    t = await startApp();
    expect(await ready(t)).toMatchObject({ status: 200, body: { info: { registry: { status: 'up', backend: 'memory' } } } });
  });

  it('does not start when Redis cannot be reached, and says where it looked', async () => {
    const gone = await startRedisServer();
    await gone.stop();
    const started = await startApp({ REDIS_URL: `redis://:s3cret-pw@127.0.0.1:${gone.port}`, REDIS_CONNECT_TIMEOUT_MS: '300' }).then(
      (app) => {
        t = app;
        return undefined;
      },
      (e: Error) => e,
    );
    expect(started?.message).toMatch(new RegExp(`Cannot connect to Redis at 127\\.0\\.0\\.1:${gone.port} \\(REDIS_URL\\) within REDIS_CONNECT_TIMEOUT_MS=300 ms`));
    expect(started?.message).not.toContain('s3cret-pw');
  });
});
