import { createLogger, type AppLogger } from '../../src/logging/logger.js';
import type { LogLevel } from '../../src/config.js';

/** A pino logger (the production one) whose JSON lines are kept in memory, raw and parsed. */
export function captureLogs(level: LogLevel = 'debug'): { logger: AppLogger; raw: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const logger = createLogger({ level, destination: { write: (chunk: string) => void chunks.push(chunk) } });
  return {
    logger,
    raw: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
