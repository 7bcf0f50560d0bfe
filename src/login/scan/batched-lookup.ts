/** MySQL and SQLite both take IN lists this long without trouble. */
const maxKeysPerQuery = 500;

/**
 * Batches the lookups that arrive in the same tick into one `WHERE key IN (…)`
 * query (`findMany`). Thousands of polls arriving at once (a page of visitors,
 * or every script re-polling after an instance drained) then cost a handful of
 * queries instead of one each, and cannot exhaust the connection pool.
 */
export function createBatchedLookup<T>(findMany: (keys: string[]) => Promise<Map<string, T>>) {
  let waiting = new Map<string, { resolve: (found: T | undefined) => void; reject: (error: unknown) => void }[]>();
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = waiting;
    waiting = new Map();
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

  /** What `findMany` says of `key`, if anything. */
  function find(key: string): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = waiting.get(key) ?? [];
      waiters.push({ resolve, reject });
      waiting.set(key, waiters);
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
  }

  return { find };
}
