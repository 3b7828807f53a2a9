import { Test } from '@nestjs/testing';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { ConfigModule, Settings } from '../config/config.module';
import { SessionService } from '../session/session.module';
import { ConnectionSweeper } from './connection-sweeper';
import { Admission, McpConnections, Refusal } from './mcp-connections';
import type { ToolContext } from './tool-context';
import { ToolRunner } from './tools/tool-runner';

const SWEEP_MS = 1_000;
const UNUSED_MS = 10_000;
const SESSION_MS = 60_000;

async function setup(env: Record<string, string> = {}) {
  const config = Settings.load({
    MCP_MAX_CONNECTIONS: '5',
    MCP_MAX_CONNECTIONS_PER_PRINCIPAL: '2',
    MCP_CONNECTION_IDLE_TIMEOUT_MS: String(UNUSED_MS),
    SESSION_IDLE_TIMEOUT_MS: String(SESSION_MS),
    SESSION_SWEEP_INTERVAL_MS: String(SWEEP_MS),
    ...env,
  });
  // Strict doubles: only what McpConnections may call.
  const withDefault = new Set<string>();
  const busy = new Set<string>();
  const sessions = { endConnection: jest.fn(async (id: string) => void withDefault.delete(id)), usesDefault: jest.fn((id: string) => withDefault.has(id)) };
  const tools = { busy: jest.fn((id: string) => busy.has(id)) };
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config)],
    providers: [
      McpConnections,
      ConnectionSweeper,
      SchedulerRegistry,
      { provide: SessionService, useValue: sessions },
      { provide: ToolRunner, useValue: tools },
    ],
  }).compile();
  const sut = moduleRef.get(McpConnections);
  let n = 0;
  /** Opens a connection as the controller does: admit, then add with the admission. */
  const open = (principal: string): { id: string; closed: jest.Mock } => {
    const admission = sut.admit(principal);
    if (!admission.admitted) throw new Error(admission.message);
    const id = `c${++n}`;
    const closed = jest.fn(async () => undefined);
    const ctx = { principal, connectionId: id, server: { close: closed } } as unknown as ToolContext;
    sut.add(ctx, {} as Transport, admission);
    return { id, closed };
  };
  return { sut, sweeper: moduleRef.get(ConnectionSweeper), sessions, withDefault, busy, open };
}

const refusal = (r: Admission | Refusal) => (r.admitted ? undefined : r);

describe(McpConnections.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  describe('admission', () => {
    it('admits MCP_MAX_CONNECTIONS_PER_PRINCIPAL per principal, then refuses naming the setting, while others still get in', async () => {
      const { sut, open } = await setup();
      open('alice');
      open('alice');
      const over = refusal(sut.admit('alice'));
      expect(over).toMatchObject({ setting: 'MCP_MAX_CONNECTIONS_PER_PRINCIPAL', message: expect.stringMatching(/you already have 2.*MCP_MAX_CONNECTIONS_PER_PRINCIPAL=2.*DELETE \/mcp/s) });
      expect(sut.admit('bob').admitted).toBe(true);
    });

    it('admits MCP_MAX_CONNECTIONS in all, counting sessions still being initialized', async () => {
      const { sut, open } = await setup();
      open('a');
      open('b');
      const pending = [sut.admit('c'), sut.admit('d'), sut.admit('e')];
      expect(pending.every((p) => p.admitted)).toBe(true);
      expect(sut.size()).toBe(2);
      expect(refusal(sut.admit('f'))).toMatchObject({ setting: 'MCP_MAX_CONNECTIONS', message: expect.stringMatching(/maximum of 5 MCP sessions \(MCP_MAX_CONNECTIONS\)/) });
      // An initialize that failed gives its slot back, once, however often it is released.
      (pending[0] as Admission).release();
      (pending[0] as Admission).release();
      expect(sut.admit('f').admitted).toBe(true);
      expect(sut.admit('g').admitted).toBe(false);
    });

    it('a closed connection gives its slot back; stdio never takes one', async () => {
      const { sut, open } = await setup({ MCP_MAX_CONNECTIONS_PER_PRINCIPAL: '1' });
      sut.add({ principal: 'alice', connectionId: 'stdio', server: {} } as unknown as ToolContext, {} as Transport);
      const { id } = open('alice');
      expect(sut.admit('alice').admitted).toBe(false);
      await sut.closed(id);
      await sut.closed(id);
      await sut.closed('stdio');
      expect(sut.admit('alice').admitted).toBe(true);
      expect(sut.admit('alice').admitted).toBe(false);
    });

    it('Retry-After is when the soonest of the principal\'s connections can be swept, plus one sweep interval', async () => {
      const { sut, open, busy } = await setup();
      open('alice');
      jest.advanceTimersByTime(4_000);
      const { id } = open('alice');
      // The first one is swept 10 s after it was last used, 6 s from now; one sweep later at most.
      expect(refusal(sut.admit('alice'))?.retryAfterSeconds).toBe(6 + SWEEP_MS / 1000);
      busy.add('c1');
      expect(refusal(sut.admit('alice'))?.retryAfterSeconds).toBe(10 + SWEEP_MS / 1000);
      busy.add(id);
      // Nothing of hers can be swept now: a fresh connection's idle time.
      expect(refusal(sut.admit('alice'))?.retryAfterSeconds).toBe(UNUSED_MS / 1000 + SWEEP_MS / 1000);
    });
  });

  describe('expiry', () => {
    it('an unused connection is closed after MCP_CONNECTION_IDLE_TIMEOUT_MS, by the sweeper, within one sweep interval', async () => {
      const { sut, sweeper, open, sessions } = await setup();
      const { id, closed } = open('alice');
      sweeper.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(UNUSED_MS);
      expect(sut.peek(id)).toBeDefined();
      await jest.advanceTimersByTimeAsync(SWEEP_MS);
      expect(sut.peek(id)).toBeUndefined();
      expect(closed).toHaveBeenCalledTimes(1);
      expect(sessions.endConnection).toHaveBeenCalledWith(id);
      expect(sut.admit('alice').admitted).toBe(true);
      sweeper.onModuleDestroy();
    });

    it('a request counts as use; so does the end of its answer', async () => {
      const { sut, open } = await setup();
      const { id } = open('alice');
      jest.advanceTimersByTime(UNUSED_MS - 1);
      const conn = sut.get(id)!;
      const res = new EventEmitter() as unknown as ServerResponse;
      sut.serving(conn, res, false);
      jest.advanceTimersByTime(UNUSED_MS + 1);
      // A long call (the tool runner says busy meanwhile) that just returned: used now, not idle.
      res.emit('close');
      expect(await sut.sweepIdle()).toEqual([]);
      jest.advanceTimersByTime(UNUSED_MS + 1);
      expect(await sut.sweepIdle()).toEqual([id]);
    });

    it('one that uses its default session (holds it, or held it until the session sweep ended it) or holds an open GET stream keeps SESSION_IDLE_TIMEOUT_MS; one with a call running is never closed', async () => {
      const { sut, open, withDefault, busy } = await setup();
      const holder = open('alice').id;
      const streaming = open('alice').id;
      const working = open('bob').id;
      const unused = open('bob').id;
      withDefault.add(holder);
      const stream = new EventEmitter() as unknown as ServerResponse;
      sut.serving(sut.get(streaming)!, stream, true);
      busy.add(working);
      jest.advanceTimersByTime(UNUSED_MS + 1);
      expect(await sut.sweepIdle()).toEqual([unused]);
      jest.advanceTimersByTime(SESSION_MS);
      expect((await sut.sweepIdle()).sort()).toEqual([holder, streaming].sort());
      expect(sut.peek(working)).toBeDefined();
      busy.delete(working);
      expect(await sut.sweepIdle()).toEqual([working]);
    });

    it('a GET stream that ends leaves the short rule, counted from its end', async () => {
      const { sut, open } = await setup();
      const { id } = open('alice');
      const stream = new EventEmitter() as unknown as ServerResponse;
      sut.serving(sut.get(id)!, stream, true);
      jest.advanceTimersByTime(SESSION_MS - 1);
      stream.emit('close');
      jest.advanceTimersByTime(UNUSED_MS);
      expect(await sut.sweepIdle()).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(await sut.sweepIdle()).toEqual([id]);
    });

    it('stdio is never swept', async () => {
      const { sut } = await setup();
      sut.add({ principal: 'anonymous', connectionId: 'stdio', server: { close: jest.fn() } } as unknown as ToolContext, {} as Transport);
      jest.advanceTimersByTime(10 * SESSION_MS);
      expect(await sut.sweepIdle()).toEqual([]);
    });
  });
});
