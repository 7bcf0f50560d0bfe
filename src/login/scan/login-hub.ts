import { EventEmitter } from 'node:events';

export interface SceneSubscription {
  /** Resolves when the scene is published (or the hub drains). Never rejects. */
  woken: Promise<void>;
  /** Removes the listener; safe to call more than once. */
  cancel(): void;
}

/** How long the hub remembers that a scene was published: longer than a poll's "recent check" window. */
const publicationMemoryMs = 120_000;

/**
 * Wakes the long-polls waiting on a scene. Keyed by scene, one listener per
 * held poll; a poll must subscribe before it checks the database, so that a
 * scan landing between the check and the wait is never missed.
 *
 * It also remembers when each scene was last published, so that a poll can
 * tell whether anything happened since its previous database check.
 */
export function createLoginHub(now: () => number = Date.now) {
  const emitter = new EventEmitter();
  // Thousands of polls may wait at once; the warning would count them per event name.
  emitter.setMaxListeners(0);
  const publishedAt = new Map<string, number>();
  let draining = false;

  const sweeper = setInterval(() => {
    const cutoff = now() - publicationMemoryMs;
    for (const [scene, at] of publishedAt) if (at < cutoff) publishedAt.delete(scene);
  }, 30_000);
  sweeper.unref();

  function subscribe(scene: string): SceneSubscription {
    let listener!: () => void;
    const woken = new Promise<void>((resolve) => {
      listener = resolve;
    });
    emitter.once(scene, listener);
    let cancelled = false;
    return {
      woken,
      cancel() {
        if (cancelled) return;
        cancelled = true;
        emitter.off(scene, listener);
      },
    };
  }

  /** Wakes every poll on this instance waiting for `scene`. */
  function publish(scene: string): void {
    publishedAt.set(scene, now());
    emitter.emit(scene);
  }

  /** True when `scene` was published at or after `since` (ms). */
  function publishedSince(scene: string, since: number): boolean {
    const at = publishedAt.get(scene);
    return at !== undefined && at >= since;
  }

  /** Shutting down: wake every held poll so it answers at once, and make new ones answer at once too. */
  function drain(): void {
    draining = true;
    for (const name of emitter.eventNames()) emitter.emit(name);
  }

  /** Listeners still registered: 0 when no poll is held. */
  function listenerCount(): number {
    return emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0);
  }

  return {
    subscribe,
    publish,
    publishedSince,
    drain,
    isDraining: () => draining,
    listenerCount,
    close: () => clearInterval(sweeper),
  };
}

export type LoginHub = ReturnType<typeof createLoginHub>;
