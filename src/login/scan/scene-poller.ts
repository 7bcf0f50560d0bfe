import NodeCache from 'node-cache';
import type { LoginHub } from './login-hub.js';
import type { SceneState, SceneStates } from './scene-states.js';
import type { Metrics } from '../../metrics/metrics.js';

/**
 * A poll that follows a "pending" answer for the same scene may skip its
 * first database check when the previous check is this recent and the hub
 * has seen no scan of the scene since. This keeps a waiting browser at about
 * one query per poll instead of two. A scene this instance has just issued
 * counts as checked at its issue: nobody can have scanned it before, so the
 * page's first poll needs no query either.
 */
const recentCheckMs = 60_000;

/**
 * A check that no scan prompted (a poll's first, a held poll's last) waits up
 * to this long to share its query with other polls' (scene-states.ts): the
 * polls a restart sends back, or held polls timing out spread by their
 * jitter, then cost a query per hundred instead of one each. A scan's wake
 * is checked at once.
 */
const unpromptedCheckMs = 100;

/**
 * Holds one long-poll: subscribe first, then check the database (unless a
 * recent check makes that redundant), then wait for a wake-up, the timeout or
 * the client leaving, and check again. Every listener and timer is removed
 * however the wait ends.
 */
export function createScenePoller(hub: LoginHub, sceneStates: Pick<SceneStates, 'stateOf'>, now: () => number = Date.now, metrics?: Metrics) {
  const lastPendingCheck = new NodeCache({ stdTTL: recentCheckMs / 1000, checkperiod: 30, useClones: false });

  async function check(scene: string, withinMs?: number): Promise<SceneState> {
    // Taken before the query: a scan committed after this moment is published after it too.
    const startedAt = now();
    const state = await sceneStates.stateOf(scene, withinMs);
    if (state.status === 'issued') lastPendingCheck.set(scene, startedAt);
    return state;
  }

  /** A scene issued here and now: pending by construction, as if just checked. */
  function noteIssued(scene: string): void {
    lastPendingCheck.set(scene, now());
  }

  function checkedRecently(scene: string): boolean {
    const at = lastPendingCheck.get<number>(scene);
    return at !== undefined && now() - at < recentCheckMs && !hub.publishedSince(scene, at);
  }

  /** A scan was published since the last check here: the check is the scan's, and is made at once. */
  function scannedSinceChecked(scene: string): boolean {
    const at = lastPendingCheck.get<number>(scene);
    return at !== undefined && hub.publishedSince(scene, at);
  }

  /**
   * `seenAwaiting`: the client already shows "scanned, pick the number", so an
   * `awaiting` state is held like `pending` until the scanner decides.
   */
  async function waitForScan(scene: string, waitMs: number, signal: AbortSignal, seenAwaiting = false): Promise<SceneState> {
    if (hub.isDraining()) return { status: 'issued' };
    const subscription = hub.subscribe(scene);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let held = false;
    // Every wait of this poll, the checks' included, ends by then: a poll is never held longer than asked.
    const deadline = Date.now() + waitMs;
    /** How long an unprompted check may wait for company: what is left of the poll, at most unpromptedCheckMs; at once when nothing is. */
    const leeway = () => {
      const left = Math.min(unpromptedCheckMs, deadline - Date.now());
      return left > 0 ? left : undefined;
    };
    try {
      if (waitMs <= 0 || !checkedRecently(scene)) {
        const prompted = waitMs <= 0 || seenAwaiting || scannedSinceChecked(scene);
        const first = await check(scene, prompted ? undefined : leeway());
        const news = first.status !== 'issued' && !(first.status === 'awaiting' && seenAwaiting);
        if (news || waitMs <= 0 || signal.aborted) return first;
      }
      metrics?.heldPolls.inc();
      held = true;
      let woken = false;
      await new Promise<void>((resolve) => {
        // The last check may take its share of the wait.
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now() - unpromptedCheckMs));
        onAbort = resolve;
        signal.addEventListener('abort', onAbort, { once: true });
        subscription.woken.then(() => {
          woken = true;
          resolve();
        });
      });
      // A client that left needs no answer; a draining server answers at once so the script re-polls elsewhere.
      if (signal.aborted || hub.isDraining()) return { status: 'issued' };
      return await check(scene, woken ? undefined : leeway());
    } finally {
      if (held) metrics?.heldPolls.dec();
      subscription.cancel();
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  return { waitForScan, noteIssued, close: () => lastPendingCheck.close() };
}

export type ScenePoller = ReturnType<typeof createScenePoller>;
