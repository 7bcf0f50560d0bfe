import type { User, UserQueries } from '../../db/users.js';

/** MySQL and SQLite both take IN lists this long without trouble. */
const maxScenesPerQuery = 500;

/**
 * Finds who scanned each scene, batching the lookups that arrive in the same
 * tick into one `WHERE tmp_scene_str IN (…)` query. Thousands of polls
 * arriving at once (a page of visitors, or every script re-polling after an
 * instance drained) then cost a handful of queries instead of one each, and
 * cannot exhaust the connection pool.
 */
export function createSceneLookup(users: Pick<UserQueries, 'findUsersByScenes'>) {
  let waiting = new Map<string, { resolve: (user: User | undefined) => void; reject: (error: unknown) => void }[]>();
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = waiting;
    waiting = new Map();
    const scenes = [...batch.keys()];
    for (let start = 0; start < scenes.length; start += maxScenesPerQuery) {
      const chunk = scenes.slice(start, start + maxScenesPerQuery);
      try {
        const found = await users.findUsersByScenes(chunk);
        for (const scene of chunk) for (const waiter of batch.get(scene)!) waiter.resolve(found.get(scene));
      } catch (error) {
        for (const scene of chunk) for (const waiter of batch.get(scene)!) waiter.reject(error);
      }
    }
  }

  /** The user whose latest scan was `scene`, if any. */
  function findUserByScene(scene: string): Promise<User | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = waiting.get(scene) ?? [];
      waiters.push({ resolve, reject });
      waiting.set(scene, waiters);
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
  }

  return { findUserByScene };
}

export type SceneLookup = ReturnType<typeof createSceneLookup>;
