import NodeCache from 'node-cache';
import { callbackRetryWindowSeconds } from '../../wechat/constants.js';
import type { Metrics } from '../../metrics/metrics.js';

/** Where instances share delivery keys (Redis); without one, this instance's memory is used alone. */
export interface SharedDeliveryStore {
  /** Claims `key` for handling; if another instance has it, says so and gives its reply when it has one. */
  claim(key: string): Promise<{ claimed: boolean; reply?: string }>;
  save(key: string, reply: string): Promise<void>;
  release(key: string): Promise<void>;
}

export const deliveryMemorySeconds = callbackRetryWindowSeconds * 5;
/** How long a retry waits for another instance that is still handling the same delivery. */
const waitForOtherInstanceMs = 2000;

/**
 * WeChat retries a callback it got no answer to within 5 s, up to three
 * times. A retry of a delivery we already handled (or are handling) gets the
 * same reply and has no second effect. A failed attempt is forgotten, so
 * WeChat's retry gets a real second chance.
 */
export function createDeliveryDeduper(shared?: SharedDeliveryStore, metrics?: Metrics) {
  const inFlight = new Map<string, Promise<string>>();
  const done = new NodeCache({ stdTTL: deliveryMemorySeconds, checkperiod: 60, useClones: false });

  async function replyFromOtherInstance(key: string): Promise<string | undefined> {
    if (!shared) return undefined;
    try {
      const deadline = Date.now() + waitForOtherInstanceMs;
      for (;;) {
        const state = await shared.claim(key);
        if (state.claimed) return undefined;
        if (state.reply !== undefined) return state.reply;
        // Still being handled elsewhere: wait a little; after the deadline handle it here (the effects are idempotent).
        if (Date.now() >= deadline) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } catch {
      return undefined; // Redis is away: this instance's memory alone decides.
    }
  }

  async function handleOnce(key: string, handle: () => Promise<string>): Promise<string> {
    const elsewhere = await replyFromOtherInstance(key);
    if (elsewhere !== undefined) {
      metrics?.duplicateDeliveries.inc();
      return elsewhere;
    }
    try {
      const reply = await handle();
      done.set(key, reply);
      await shared?.save(key, reply).catch(() => undefined);
      return reply;
    } catch (error) {
      await shared?.release(key).catch(() => undefined);
      throw error;
    }
  }

  async function once(key: string, handle: () => Promise<string>): Promise<string> {
    const finished = done.get<string>(key) ?? inFlight.get(key);
    if (finished !== undefined) {
      metrics?.duplicateDeliveries.inc();
      return finished;
    }
    const attempt = handleOnce(key, handle);
    inFlight.set(key, attempt);
    try {
      return await attempt;
    } finally {
      inFlight.delete(key);
    }
  }

  return { once, close: () => done.close() };
}

export type DeliveryDeduper = ReturnType<typeof createDeliveryDeduper>;
