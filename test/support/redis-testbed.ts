import { createClient } from 'redis';
import { redisTarget } from '../../src/cluster/cluster.settings';
import { RedisConnection } from '../../src/cluster/redis-connection';
import { startRedisServer, type RedisServer } from './redis-server';

/**
 * For the specs of the Redis backends: a real redis-server for the file (started before its tests, stopped
 * after), an admin client on it, and connections as a replica of the server opens them (each closed after its
 * test). Call it inside a `describe`: it registers the hooks there.
 */
export function redisTestBed() {
  let server: RedisServer | undefined;
  let admin: ReturnType<typeof createClient> | undefined;
  const connections: RedisConnection[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createClient({ url: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    admin?.destroy();
    await server?.stop();
  });

  const started = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`the test bed's ${what} is used before its beforeAll ran`);
    return x;
  };
  return {
    get server(): RedisServer {
      return started(server, 'redis-server');
    },
    /** A client of its own, for looking at (and emptying) what the backends wrote. */
    get admin(): ReturnType<typeof createClient> {
      return started(admin, 'admin client');
    },
    /** A connection of its own, as one replica has: connected, and closed after the test. */
    async connection(): Promise<RedisConnection> {
      const url = started(server, 'redis-server').url;
      const c = new RedisConnection({ redisUrl: url, redisTarget: redisTarget(url), connectTimeoutMs: 5_000, commandTimeoutMs: 2_000 });
      connections.push(c);
      await c.connect();
      return c;
    },
  };
}
