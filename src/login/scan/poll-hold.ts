/** The most a held poll is cut short by, so that polls opened together do not all come back together. */
export const pollJitterMs = 3000;

/** The most a poll of `timeoutMs` is cut short by. */
export function longestPollJitterMs(timeoutMs: number): number {
  return Math.min(pollJitterMs, timeoutMs / 5);
}

/**
 * How long to hold one poll: LOGIN_POLL_TIMEOUT_MS less a random part of at
 * most 3 s (and at most a fifth of it), and never past the code's expiry.
 * Polls opened in the same second (every browser after a restart, a bench)
 * then time out spread over seconds instead of in one wave that stalls the
 * server; none is held longer than configured. `random` is in [0, 1).
 */
export function pollHoldMs(timeoutMs: number, msLeft: number, random: number): number {
  const jitter = Math.floor(random * longestPollJitterMs(timeoutMs));
  return Math.max(0, Math.min(timeoutMs - jitter, msLeft));
}
