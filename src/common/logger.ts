import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { currentLogFields, enableLogFields } from './log-context';

const LEVELS: Record<string, LogLevel[]> = {
  debug: ['debug', 'log', 'warn', 'error', 'fatal'],
  info: ['log', 'warn', 'error', 'fatal'],
  warn: ['warn', 'error', 'fatal'],
  error: ['error', 'fatal'],
};

export type LogFormat = 'json' | 'pretty';

/**
 * Nest's console logger at LOG_LEVEL; in stdio mode every line goes to stderr (stdout carries MCP).
 * `json`: one JSON object per line (`time`, `timestamp` in ms, `level`, `context`, `message`, `pid`, `stack` for errors, and `principal`,
 * `mcp_session`, `session`, `tool` when the line is written while serving a request that has them).
 */
export class AppLogger extends ConsoleLogger {
  constructor(
    level: string,
    private readonly stderrOnly: boolean,
    format: LogFormat = 'pretty',
  ) {
    super(format === 'json' ? { logLevels: LEVELS[level] ?? LEVELS.info, json: true, colors: false, compact: true } : { logLevels: LEVELS[level] ?? LEVELS.info });
    // Only JSON lines print the request's ids; pretty lines leave the (costly on Node 20) context off.
    if (format === 'json') enableLogFields();
  }

  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, writeStreamType?: 'stdout' | 'stderr', errorStack?: unknown) {
    super.printMessages(messages, context, logLevel, this.stderrOnly ? 'stderr' : writeStreamType, errorStack);
  }

  protected override getJsonLogObject(message: unknown, options: { context: string; logLevel: LogLevel; writeStreamType?: 'stdout' | 'stderr'; errorStack?: unknown }) {
    const base = super.getJsonLogObject(message, options);
    return { time: new Date(base.timestamp).toISOString(), ...base, ...currentLogFields() };
  }
}
