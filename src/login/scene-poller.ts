import type { LoginHub } from './login-hub.js';
import type { LoginService, SceneState } from './login-service.js';

/**
 * Holds one long-poll: subscribe first, then check the database, then wait
 * for a wake-up, the timeout or the client leaving, and check again. Every
 * listener and timer is removed however the wait ends.
 */
export function createScenePoller(hub: LoginHub, loginService: LoginService) {
  async function waitForScan(scene: string, waitMs: number, signal: AbortSignal): Promise<SceneState> {
    const subscription = hub.subscribe(scene);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const first = await loginService.findSceneState(scene);
      if (first.status === 'scanned' || waitMs <= 0 || signal.aborted) return first;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
        onAbort = resolve;
        signal.addEventListener('abort', onAbort, { once: true });
        subscription.woken.then(resolve);
      });
      if (signal.aborted) return { status: 'pending' };
      return await loginService.findSceneState(scene);
    } finally {
      subscription.cancel();
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  return { waitForScan };
}

export type ScenePoller = ReturnType<typeof createScenePoller>;
