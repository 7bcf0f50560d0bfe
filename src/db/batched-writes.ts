import type { Logger } from '../logging/logger.js';

/**
 * Writes that may wait a little, gathered for `windowMs` and written together
 * by `write` (one statement for many, instead of one round trip each on a
 * request's path), one batch after another. A failed batch is logged and
 * dropped: only what can be lost without harm belongs here.
 */
export function createBatchedWrites<T>(options: { write: (batch: T[]) => Promise<void>; windowMs: number; logger: Pick<Logger, 'warn'>; what: string }) {
  let waiting: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  function add(item: T): void {
    waiting.push(item);
    timer ??= setTimeout(() => void settled(), options.windowMs);
  }

  /** Writes what is waiting now; resolves when every write added so far is done. */
  function settled(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = waiting;
    waiting = [];
    if (batch.length > 0) writing = writing.then(() => write(batch));
    return writing;
  }

  async function write(batch: T[]): Promise<void> {
    try {
      await options.write(batch);
    } catch (error) {
      options.logger.warn(`could not write ${options.what}`, { count: batch.length, error: error instanceof Error ? error.message : String(error) });
    }
  }

  return { add, settled };
}
