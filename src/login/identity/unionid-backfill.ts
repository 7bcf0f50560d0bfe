import type { Logger } from '../../logging/logger.js';

export interface UnionidBackfillDeps {
  /** The unionids WeChat knows for these openids (user/info/batchget); openids it gives none for are absent. */
  unionidsOf: (openids: string[]) => Promise<Map<string, string>>;
  /** Stores them on the users that have none yet (one UPDATE). */
  store: (unionids: Map<string, string>) => Promise<unknown>;
  /** The most openids one call may carry (WeChat: 100). */
  maxBatch: number;
  /** How long the first openid waits for others to join its call. */
  windowMs: number;
  logger?: Pick<Logger, 'warn'>;
}

/**
 * The unionids of users created by a scan without a mini-program, asked for
 * after the browser was woken, many at a time: the openids that arrive within
 * `windowMs` (or `maxBatch` of them) share one user/info/batchget call and one
 * UPDATE, instead of a call and a statement each. A failure leaves those
 * unionids empty, as a failed user/info always did, and is logged.
 */
export function createUnionidBackfill(deps: UnionidBackfillDeps) {
  let waiting = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const running = new Set<Promise<void>>();

  function add(openid: string): void {
    waiting.add(openid);
    if (waiting.size >= deps.maxBatch) flush();
    else timer ??= setTimeout(flush, deps.windowMs);
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const openids = [...waiting];
    waiting = new Set();
    if (openids.length === 0) return;
    const work = fill(openids).finally(() => running.delete(work));
    running.add(work);
  }

  async function fill(openids: string[]): Promise<void> {
    try {
      const unionids = await deps.unionidsOf(openids);
      if (unionids.size > 0) await deps.store(unionids);
    } catch (error) {
      deps.logger?.warn('could not store the unionids of new users', { users: openids.length, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Sends what is waiting now and waits for every call under way (shutdown, tests). */
  async function settled(): Promise<void> {
    flush();
    await Promise.all([...running]);
  }

  return { add, settled };
}

export type UnionidBackfill = ReturnType<typeof createUnionidBackfill>;
