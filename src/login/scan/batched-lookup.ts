/** MySQL and SQLite both take IN lists this long without trouble. */
const maxKeysPerQuery = 500;

type Waiter<T> = { resolve: (found: T | undefined) => void; reject: (error: unknown) => void };

/**
 * Batches lookups into one `WHERE key IN (…)` query (`findMany`): the ones
 * that arrive in the same tick (`find`), and the ones that may wait a little
 * (`findSoon`), which go with the next such query or at most `withinMs`
 * later. Thousands of polls arriving at once (a page of visitors, every
 * script re-polling after a restart, held polls timing out) then cost a
 * handful of queries instead of one each, and cannot exhaust the connection
 * pool.
 */
export function createBatchedLookup<T>(findMany: (keys: string[]) => Promise<Map<string, T>>) {
  let waiting = new Map<string, Waiter<T>[]>();
  let scheduled = false;
  let lazy = new Map<string, Waiter<T>[]>();
  let lazyTimer: NodeJS.Timeout | undefined;
  let lazyDeadline = Infinity;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = waiting;
    waiting = new Map();
    // The lookups that may wait go with this query.
    for (const [key, waiters] of lazy) batch.set(key, [...(batch.get(key) ?? []), ...waiters]);
    lazy = new Map();
    clearTimeout(lazyTimer);
    lazyTimer = undefined;
    lazyDeadline = Infinity;
    const keys = [...batch.keys()];
    for (let start = 0; start < keys.length; start += maxKeysPerQuery) {
      const chunk = keys.slice(start, start + maxKeysPerQuery);
      try {
        const found = await findMany(chunk);
        for (const key of chunk) for (const waiter of batch.get(key)!) waiter.resolve(found.get(key));
      } catch (error) {
        for (const key of chunk) for (const waiter of batch.get(key)!) waiter.reject(error);
      }
    }
  }

  function enqueue(queue: Map<string, Waiter<T>[]>, key: string, waiter: Waiter<T>): void {
    const waiters = queue.get(key) ?? [];
    waiters.push(waiter);
    queue.set(key, waiters);
  }

  /** What `findMany` says of `key`, if anything, from this tick's query. */
  function find(key: string): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      enqueue(waiting, key, { resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
  }

  /** The same, from the next query or at most `withinMs` later. */
  function findSoon(key: string, withinMs: number): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      enqueue(lazy, key, { resolve, reject });
      // The soonest deadline of those waiting decides.
      const deadline = Date.now() + withinMs;
      if (deadline < lazyDeadline) {
        clearTimeout(lazyTimer);
        lazyDeadline = deadline;
        lazyTimer = setTimeout(() => void flush(), withinMs);
      }
    });
  }

  return { find, findSoon };
}
