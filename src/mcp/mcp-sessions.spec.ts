import { Test } from '@nestjs/testing';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EventEmitter } from 'node:events';
import { TENANT_PERMISSIONS } from '../auth/auth.module';
import { InMemoryMcpSessionRegistry, McpSessionRegistry } from '../cluster/cluster.module';
import { ConfigModule, Settings } from '../config/config.module';
import { SessionService, type Session } from '../session/session.module';
import { ConnectionSweeper } from './connection-sweeper';
import { McpSessions, type McpHello, type Refusal } from './mcp-sessions';
import { ToolRunner, type ToolCallEvent, type ToolRunnerEvents } from './tools/tool-runner';

const SWEEP_MS = 1_000;
const UNUSED_MS = 10_000;
const SESSION_MS = 60_000;
const HELLO: McpHello = { protocolVersion: '2025-11-25', clientInfo: { name: 'spec', version: '1' }, clientCapabilities: {} };

async function setup(env: Record<string, string> = {}) {
  const config = Settings.load({
    MCP_MAX_CONNECTIONS: '5',
    MCP_MAX_CONNECTIONS_PER_PRINCIPAL: '2',
    MCP_CONNECTION_IDLE_TIMEOUT_MS: String(UNUSED_MS),
    SESSION_IDLE_TIMEOUT_MS: String(SESSION_MS),
    SESSION_SWEEP_INTERVAL_MS: String(SWEEP_MS),
    ...env,
  });
  // Strict doubles: only what McpSessions may call. The records are in the real in-memory registry.
  const busy = new Set<string>();
  const sessions = { endConnection: jest.fn(async (_id: string) => undefined) };
  const tools = { busyConnections: jest.fn(() => new Set(busy)), events: new EventEmitter<ToolRunnerEvents>() };
  const registry = new InMemoryMcpSessionRegistry();
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config)],
    providers: [
      McpSessions,
      ConnectionSweeper,
      SchedulerRegistry,
      { provide: McpSessionRegistry, useValue: registry },
      { provide: SessionService, useValue: sessions },
      { provide: ToolRunner, useValue: tools },
    ],
  }).compile();
  const sut = moduleRef.get(McpSessions);
  sut.onModuleInit();
  /** Opens an MCP session as `initialize` does; its id. */
  const open = async (principal: string): Promise<string> => {
    const r = await sut.open(principal, HELLO);
    if (!r.admitted) throw new Error(r.message);
    return r.record.id;
  };
  /** A finished tool call of that MCP session, on a session of that kind. */
  const called = (mcpSession: string | undefined, session: Pick<Session, 'id' | 'kind'>) =>
    tools.events.emit('call', {
      tool: 'screenshot_cua',
      outcome: 'ok',
      durationMs: 1,
      principal: 'alice',
      startedAt: Date.now(),
      identity: { principal: 'alice', via: 'api-key', permissions: TENANT_PERMISSIONS },
      era: 'legacy',
      transport: 'http',
      session: session as Session,
      mcpSession,
      args: {},
    } satisfies ToolCallEvent);
  return { sut, sweeper: moduleRef.get(ConnectionSweeper), registry, sessions, busy, open, called };
}

const refusal = async (p: Promise<{ admitted: true } | Refusal>) => {
  const r = await p;
  return r.admitted ? undefined : r;
};

describe(McpSessions.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  describe('admission', () => {
    it('opens MCP_MAX_CONNECTIONS_PER_PRINCIPAL per principal under unguessable ids, then refuses naming the setting, while others still get in', async () => {
      const { sut, open, registry } = await setup();
      const [a, b] = [await open('alice'), await open('alice')];
      expect(a).toMatch(/^[0-9a-f-]{36}$/);
      expect(a).not.toBe(b);
      expect(await registry.get(a)).toMatchObject({ principal: 'alice', protocolVersion: '2025-11-25', clientInfo: { name: 'spec', version: '1' }, idleTimeoutMs: UNUSED_MS });
      const refused: Refusal[] = [];
      sut.events.on('refused', (r) => refused.push(r));
      const over = await refusal(sut.open('alice', HELLO));
      expect(over).toMatchObject({ setting: 'MCP_MAX_CONNECTIONS_PER_PRINCIPAL', message: expect.stringMatching(/you already have 2.*MCP_MAX_CONNECTIONS_PER_PRINCIPAL=2.*DELETE \/mcp/s) });
      expect(refused).toEqual([over]);
      expect((await sut.open('bob', HELLO)).admitted).toBe(true);
      expect(await sut.count()).toBe(3);
    });

    it('opens MCP_MAX_CONNECTIONS in all; ending one (DELETE) frees its slot and its default session, once, and only for its own principal', async () => {
      const { sut, open, sessions } = await setup();
      const ids = [await open('a'), await open('b'), await open('c'), await open('d'), await open('e')];
      expect(await refusal(sut.open('f', HELLO))).toMatchObject({ setting: 'MCP_MAX_CONNECTIONS', message: expect.stringMatching(/maximum of 5 MCP sessions \(MCP_MAX_CONNECTIONS\)/) });
      expect(await sut.end(ids[0], 'b')).toBe(false);
      expect(sessions.endConnection).not.toHaveBeenCalled();
      expect(await sut.end(ids[0], 'a')).toBe(true);
      expect(await sut.end(ids[0], 'a')).toBe(false);
      expect(sessions.endConnection.mock.calls).toEqual([[ids[0]]]);
      expect((await sut.open('f', HELLO)).admitted).toBe(true);
      expect((await sut.open('g', HELLO)).admitted).toBe(false);
    });

    it("Retry-After is when the soonest of the principal's MCP sessions can be swept, plus one sweep interval", async () => {
      const { sut, open } = await setup();
      await open('alice');
      jest.advanceTimersByTime(4_000);
      await open('alice');
      // The first one is swept 10 s after it was last used, 6 s from now; one sweep later at most.
      expect((await refusal(sut.open('alice', HELLO)))?.retryAfterSeconds).toBe(6 + SWEEP_MS / 1000);
      jest.advanceTimersByTime(1_000);
      expect((await refusal(sut.open('alice', HELLO)))?.retryAfterSeconds).toBe(5 + SWEEP_MS / 1000);
    });
  });

  describe('use', () => {
    it("finds the principal's own MCP session and marks it used; to another principal it does not exist, and their request changes nothing", async () => {
      const { sut, open, registry } = await setup();
      const id = await open('alice');
      jest.advanceTimersByTime(5_000);
      expect(await sut.use(id, 'bob')).toBeUndefined();
      expect((await registry.get(id))?.lastActivityAt).toBe((await registry.get(id))?.createdAt);
      expect(await sut.use(id, 'alice')).toMatchObject({ id, principal: 'alice', lastActivityAt: Date.now() });
      expect(await sut.use('no-such-id', 'alice')).toBeUndefined();
    });

    it('keeps the level logging/setLevel asked for on the record, for the later requests', async () => {
      const { sut, open } = await setup();
      const id = await open('alice');
      await sut.setLogLevel(id, 'warning');
      expect(await sut.use(id, 'alice')).toMatchObject({ logLevel: 'warning' });
    });
  });

  describe('expiry', () => {
    it('an unused MCP session is ended after MCP_CONNECTION_IDLE_TIMEOUT_MS, by the sweeper, within one sweep interval, with its default session', async () => {
      const { sut, sweeper, open, sessions } = await setup();
      const id = await open('alice');
      sweeper.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(UNUSED_MS);
      expect(await sut.use(id, 'alice')).toBeDefined();
      await jest.advanceTimersByTimeAsync(UNUSED_MS + SWEEP_MS);
      expect(await sut.use(id, 'alice')).toBeUndefined();
      expect(sessions.endConnection.mock.calls).toEqual([[id]]);
      expect((await sut.open('alice', HELLO)).admitted).toBe(true);
      sweeper.onModuleDestroy();
    });

    it('a request counts as use; so does the end of its answer', async () => {
      const { sut, open } = await setup();
      const id = await open('alice');
      jest.advanceTimersByTime(UNUSED_MS - 1);
      await sut.use(id, 'alice');
      jest.advanceTimersByTime(UNUSED_MS + 1);
      // A long call that just returned: used now, not idle.
      await sut.touch(id);
      expect(await sut.sweepIdle()).toEqual([]);
      jest.advanceTimersByTime(UNUSED_MS + 1);
      expect(await sut.sweepIdle()).toEqual([id]);
    });

    it('one whose calls used a default session names it and keeps SESSION_IDLE_TIMEOUT_MS; one with a call running is never ended; calls outside MCP sessions change nothing', async () => {
      const { sut, open, registry, busy, called } = await setup();
      const holder = await open('alice');
      const working = await open('bob');
      const unused = await open('bob');
      called(holder, { id: 'ses_default', kind: 'default' });
      called(unused, { id: 'named-one', kind: 'named' });
      called(undefined, { id: 'ses_other', kind: 'default' });
      await jest.advanceTimersByTimeAsync(0);
      expect(await registry.get(holder)).toMatchObject({ defaultSession: 'ses_default', idleTimeoutMs: SESSION_MS });
      expect(await registry.get(unused)).toMatchObject({ idleTimeoutMs: UNUSED_MS });
      expect((await registry.get(unused))?.defaultSession).toBeUndefined();
      busy.add(working);
      jest.advanceTimersByTime(UNUSED_MS + 1);
      expect(await sut.sweepIdle()).toEqual([unused]);
      jest.advanceTimersByTime(SESSION_MS);
      expect(await sut.sweepIdle()).toEqual([holder]);
      busy.delete(working);
      jest.advanceTimersByTime(UNUSED_MS + 1);
      expect(await sut.sweepIdle()).toEqual([working]);
      expect(await sut.count()).toBe(0);
    });
  });
});
