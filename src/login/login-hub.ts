import { EventEmitter } from 'node:events';

export interface SceneSubscription {
  /** Resolves when the scene is published. Never rejects. */
  woken: Promise<void>;
  /** Removes the listener; safe to call more than once. */
  cancel(): void;
}

/**
 * Wakes the long-polls waiting on a scene. Keyed by scene, one listener per
 * held poll; a poll must subscribe before it checks the database, so that a
 * scan landing between the check and the wait is never missed.
 */
export function createLoginHub() {
  const emitter = new EventEmitter();
  // Thousands of polls may wait at once; each scene has few listeners, but the warning counts per event name.
  emitter.setMaxListeners(0);
  let held = 0;

  function subscribe(scene: string): SceneSubscription {
    let listener: (() => void) | undefined;
    const woken = new Promise<void>((resolve) => {
      listener = () => resolve();
    });
    emitter.once(scene, listener!);
    held += 1;
    let cancelled = false;
    return {
      woken,
      cancel() {
        if (cancelled) return;
        cancelled = true;
        held -= 1;
        emitter.off(scene, listener!);
      },
    };
  }

  /** Wakes every poll on this instance waiting for `scene`. */
  function publish(scene: string): void {
    emitter.emit(scene);
  }

  /** Listeners still registered: 0 when no poll is held. */
  function listenerCount(): number {
    return emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0);
  }

  return { subscribe, publish, listenerCount, heldCount: () => held };
}

export type LoginHub = ReturnType<typeof createLoginHub>;
