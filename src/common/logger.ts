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
 * Colour codes only for a person at a terminal: not when the lines go to a file or a pipe (Claude
 * Desktop keeps a stdio server's stderr in log files), and never with NO_COLOR set.
 */
export function colorsWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR) return env.FORCE_COLOR !== '0';
  return stream.isTTY === true;
}

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
    super(
      format === 'json'
        ? { logLevels: LEVELS[level] ?? LEVELS.info, json: true, colors: false, compact: true }
        : { logLevels: LEVELS[level] ?? LEVELS.info, colors: colorsWanted(stderrOnly ? process.stderr : process.stdout) },
    );
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
