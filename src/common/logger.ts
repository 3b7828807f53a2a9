import { ConsoleLogger, LogLevel } from '@nestjs/common';

const LEVELS: Record<string, LogLevel[]> = {
  debug: ['debug', 'log', 'warn', 'error', 'fatal'],
  info: ['log', 'warn', 'error', 'fatal'],
  warn: ['warn', 'error', 'fatal'],
  error: ['error', 'fatal'],
};

/** Nest's console logger at LOG_LEVEL; in stdio mode every line goes to stderr (stdout carries MCP). */
export class AppLogger extends ConsoleLogger {
  constructor(level: string, private readonly stderrOnly: boolean) {
    super({ logLevels: LEVELS[level] ?? LEVELS.info });
  }

  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, writeStreamType?: 'stdout' | 'stderr') {
    super.printMessages(messages, context, logLevel, this.stderrOnly ? 'stderr' : writeStreamType);
  }
}
