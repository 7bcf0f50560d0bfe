import { createHash } from 'node:crypto';
import { CallbackRejectedError } from './errors.js';
import type { NonceStore } from '../db/callback-nonces.js';

export type { NonceStore };

export interface ReplayGuardOptions {
  store: NonceStore;
  /** WECHAT_TIMESTAMP_TOLERANCE_SECONDS: a pair must be remembered for as long as its timestamp is accepted. */
  toleranceSeconds: number;
  now?: () => number;
}

/** With the timestamp check off (tolerance 0) a pair is still remembered this long. */
export const nonceMemoryWithoutToleranceSeconds = 24 * 3600;
/** A little longer than the window, for clock steps between instances. */
const marginSeconds = 60;

/**
 * WeChat's plaintext signature covers the token, the timestamp and the nonce
 * but not the body, so whoever saw one request's query string (an access log
 * is enough) could attach any body to it. A pair is therefore accepted with
 * one body only: the same body again is WeChat's retry (the delivery dedupe
 * answers it as before), another body is refused.
 */
export function createReplayGuard(options: ReplayGuardOptions) {
  const now = options.now ?? Date.now;

  /** Throws CallbackRejectedError (`replayed_nonce`) when `timestamp` + `nonce` came before with a different body. Call after the signature checks out. */
  async function check(timestamp: string, nonce: string, body: string): Promise<void> {
    const bodyHash = createHash('sha256').update(body, 'utf8').digest('hex');
    const first = await options.store.remember(pairKeyOf(timestamp, nonce), bodyHash, rememberUntil(timestamp));
    if (first !== bodyHash) throw new CallbackRejectedError('timestamp and nonce already used with another body', 'replayed_nonce');
  }

  /** Until the timestamp leaves the accepted window (and a margin), never less than the margin from now. */
  function rememberUntil(timestamp: string): number {
    const seconds =
      options.toleranceSeconds === 0
        ? now() / 1000 + nonceMemoryWithoutToleranceSeconds
        : Math.max(Number(timestamp) + options.toleranceSeconds, now() / 1000);
    return Math.ceil((seconds + marginSeconds) * 1000);
  }

  return { check };
}

export type ReplayGuard = ReturnType<typeof createReplayGuard>;

/** A fixed-length key whatever the nonce holds: sha256 of the pair. */
export function pairKeyOf(timestamp: string, nonce: string): string {
  return createHash('sha256').update(`${timestamp}\n${nonce}`, 'utf8').digest('hex');
}
