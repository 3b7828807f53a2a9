import { Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { createServer } from 'node:http';
import { ConfigModule, Settings } from '../config/config.module';
import { applyLimits, HttpLimits, openFileLimit } from './http-limits';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe(HttpLimits.name, () => {
  async function setup(env: Record<string, string> = {}) {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(Settings.load(env))],
      providers: [HttpLimits, { provide: HttpAdapterHost, useValue: {} }],
    }).compile();
    return moduleRef.get(HttpLimits);
  }

  it('reads the soft open-file limit of the process', () => {
    expect(openFileLimit(LIMITS)).toBe(20000);
    expect(openFileLimit(LIMITS.replace('20000                20000', 'unlimited            unlimited'))).toBeUndefined();
    expect(openFileLimit('')).toBeUndefined();
  });

  it('warns when HTTP_MAX_CONNECTIONS leaves too few file descriptors for the rest, naming both figures', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      (await setup()).checkFileLimit(20000);
      expect(warn).not.toHaveBeenCalled();
      (await setup()).checkFileLimit(undefined);
      expect(warn).not.toHaveBeenCalled();
      (await setup()).checkFileLimit(4096);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/HTTP_MAX_CONNECTIONS \(10000\).*4096 file descriptors \(ulimit -n\).*Lower HTTP_MAX_CONNECTIONS/));
    } finally {
      warn.mockRestore();
    }
  });

  it('counts every connection dropped over HTTP_MAX_CONNECTIONS and warns at most once a minute, naming the setting', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const sut = await setup({ HTTP_MAX_CONNECTIONS: '50' });
      let dropped = 0;
      sut.events.on('dropped', () => dropped++);
      for (let t = 0; t < 100_000; t += 1000) sut.drop(t);
      expect(dropped).toBe(100);
      expect(warn.mock.calls.map(([m]) => String(m))).toEqual([
        expect.stringMatching(/HTTP_MAX_CONNECTIONS \(50\) reached.*\(1 so far\)/),
        expect.stringMatching(/\(61 so far\)/),
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('sets the timeouts, the connection cap, and a deadline check ten times per header timeout (at most every 5 s)', () => {
    const server = createServer();
    applyLimits(server, { headersTimeoutMs: 30_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnections: 123 });
    expect(server).toMatchObject({ headersTimeout: 30_000, requestTimeout: 60_000, keepAliveTimeout: 5_000, maxConnections: 123, connectionsCheckingInterval: 3_000 });
    applyLimits(server, { headersTimeoutMs: 1_000, requestTimeoutMs: 600_000, keepAliveTimeoutMs: 5_000, maxConnections: 10 });
    expect(server).toMatchObject({ connectionsCheckingInterval: 100 });
    applyLimits(server, { headersTimeoutMs: 600_000, requestTimeoutMs: 600_000, keepAliveTimeoutMs: 5_000, maxConnections: 10 });
    expect(server).toMatchObject({ connectionsCheckingInterval: 5_000 });
  });
});
