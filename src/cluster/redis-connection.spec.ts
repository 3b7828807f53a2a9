import { createClient } from 'redis';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server';
import { waitFor } from '../../test/support/wait-for';
import { DomainErrorCode } from '../common/domain-error';
import { RegistryUnavailableError } from './cluster.errors';
import { redisTarget } from './cluster.settings';
import { RedisConnection } from './redis-connection';

const PASSWORD = 'correct-horse-battery';

function settingsFor(url: string, connectTimeoutMs = 2_000): ConstructorParameters<typeof RedisConnection>[0] {
  return { redisUrl: url, redisTarget: redisTarget(url), connectTimeoutMs, commandTimeoutMs: 1_000 };
}

/** Connections redis-server has from clients named like ours (CLIENT SETNAME), seen from a separate client. */
async function ourConnections(server: RedisServer): Promise<number> {
  const admin = createClient({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}` });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const list = await admin.clientList();
    return list.filter((c) => c.name === 'cua-mcp-server').length;
  } finally {
    admin.destroy();
  }
}

describe(RedisConnection.name, () => {
  let server: RedisServer;
  const open: RedisConnection[] = [];
  const connection = (url: string, connectTimeoutMs?: number) => {
    const c = new RedisConnection(settingsFor(url, connectTimeoutMs));
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await startRedisServer(['--requirepass', PASSWORD]);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    if (server.pid === -1) await server.restart();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('connects at boot, answers calls, is ready, and closes its connection at shutdown', async () => {
    const sut = connection(`redis://:${PASSWORD}@127.0.0.1:${server.port}`);
    await sut.onModuleInit();
    expect(sut.ready).toBe(true);
    expect(await sut.call((c) => c.ping())).toBe('PONG');
    expect(await sut.problem()).toBeUndefined();
    expect(await ourConnections(server)).toBe(1);
    await sut.onApplicationShutdown();
    await waitFor('the connection to be closed on the server', async () => (await ourConnections(server)) === 0, 5_000);
  });

  it('stops the boot within REDIS_CONNECT_TIMEOUT_MS when nobody listens, naming host:port but never the password', async () => {
    const dead = await startRedisServer();
    const port = dead.port;
    await dead.stop();
    const sut = connection(`redis://:${PASSWORD}@127.0.0.1:${port}`, 500);
    const error = await sut.onModuleInit().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(new RegExp(`^Cannot connect to Redis at 127\\.0\\.0\\.1:${port} \\(REDIS_URL\\) within REDIS_CONNECT_TIMEOUT_MS=500 ms: .*ECONNREFUSED`));
    expect(error?.message).toMatch(/leave REDIS_URL unset/);
    expect(error?.message).not.toContain(PASSWORD);
    expect(sut.ready).toBe(false);
  });

  it('stops the boot at once on a wrong password, saying so', async () => {
    const sut = connection(`redis://:not-the-${PASSWORD}@127.0.0.1:${server.port}`, 60_000);
    // Refused at the first answer: had it retried until the 60 s deadline, the test would time out.
    const error = await sut.onModuleInit().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/^Cannot connect to Redis at 127\.0\.0\.1:\d+ \(REDIS_URL\).*WRONGPASS/);
    expect(error?.message).not.toContain(PASSWORD);
  });

  it('fails calls at once with REGISTRY_UNAVAILABLE while Redis is away, and serves again once it is back', async () => {
    const sut = connection(`redis://:${PASSWORD}@127.0.0.1:${server.port}`);
    await sut.onModuleInit();
    await server.kill();
    const error = await sut.call((c) => c.ping()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as RegistryUnavailableError).code).toBe(DomainErrorCode.REGISTRY_UNAVAILABLE);
    expect((error as Error).message).toMatch(new RegExp(`^The session registry \\(Redis at 127\\.0\\.0\\.1:${server.port}\\) is unreachable: .*Retry shortly\\.$`));
    expect(await sut.problem()).toMatch(/is unreachable/);
    await server.restart();
    await waitFor('Redis to answer again', async () => (await sut.problem()) === undefined, 10_000);
    expect(await sut.call((c) => c.ping())).toBe('PONG');
  });
});
