import { withLogFields, addLogField } from './log-context';
import { AppLogger, colorsWanted } from './logger';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  return { out, err, restore: () => (so.mockRestore(), se.mockRestore()) };
}

describe(AppLogger.name, () => {
  it('pretty lines carry colour codes only for a terminal, never with NO_COLOR', () => {
    expect(colorsWanted({ isTTY: true }, {})).toBe(true);
    expect(colorsWanted({ isTTY: undefined }, {})).toBe(false);
    expect(colorsWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorsWanted({ isTTY: undefined }, { FORCE_COLOR: '1' })).toBe(true);
    // Jest's streams are no terminal: what a log file would get.
    const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
    delete process.env.NO_COLOR;
    delete process.env.FORCE_COLOR;
    const c = capture();
    try {
      new AppLogger('info', true, 'pretty').warn('to a file', 'Main');
    } finally {
      c.restore();
      for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    }
    expect(c.err.join('')).toContain('to a file');
    expect(c.err.join('')).not.toContain('\u001b[');
  });

  it('json: one parseable object per line with time, level, context, message, and the ids of the current request', () => {
    const sut = new AppLogger('info', false, 'json');
    const c = capture();
    try {
      sut.log('outside', 'Main');
      withLogFields({ principal: 'alice', mcp_session: 'mcp-1', tool: 'screenshot_cua' }, () => {
        addLogField('session', 'ses_x');
        sut.log('Session ses_x opened', 'SessionService');
        sut.error('it broke', 'Error: it broke\n    at somewhere', 'Tools');
      });
      sut.debug('below the level', 'Main');
    } finally {
      c.restore();
    }
    const lines = [...c.out, ...c.err].join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 'log', context: 'Main', message: 'outside', pid: process.pid });
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(lines[0]).not.toHaveProperty('principal');
    expect(lines[1]).toMatchObject({ level: 'log', context: 'SessionService', principal: 'alice', mcp_session: 'mcp-1', session: 'ses_x', tool: 'screenshot_cua' });
    expect(lines[2]).toMatchObject({ level: 'error', context: 'Tools', message: 'it broke', stack: expect.stringContaining('at somewhere'), principal: 'alice' });
    expect(c.err.join('')).toContain('it broke');
  });

  it('stdio mode writes every line, JSON or pretty, to stderr and nothing to stdout', () => {
    const c = capture();
    try {
      new AppLogger('info', true, 'json').log('json line', 'Main');
      new AppLogger('info', true, 'pretty').log('pretty line', 'Main');
    } finally {
      c.restore();
    }
    expect(c.out).toEqual([]);
    expect(JSON.parse(c.err[0])).toMatchObject({ message: 'json line' });
    expect(c.err[1].replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')).toMatch(/LOG \[Main\] pretty line/);
    expect(() => JSON.parse(c.err[1])).toThrow();
  });
});
