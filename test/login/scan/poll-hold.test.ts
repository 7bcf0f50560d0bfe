import test from 'ava';
import { pollHoldMs } from '../../../src/login/scan/poll-hold.js';

test('a poll is held LOGIN_POLL_TIMEOUT_MS less at most 3 s (at most a fifth of it), never longer, never past the code', (t) => {
  t.is(pollHoldMs(25_000, 300_000, 0), 25_000);
  t.is(pollHoldMs(25_000, 300_000, 0.5), 23_500);
  t.true(pollHoldMs(25_000, 300_000, 0.999_999) > 22_000);
  // A short timeout keeps four fifths of itself at least.
  t.is(pollHoldMs(2000, 300_000, 0.999_999), 1601);
  // The code's expiry comes first.
  t.is(pollHoldMs(25_000, 1_000, 0), 1_000);
  t.is(pollHoldMs(25_000, -5, 0.3), 0);
  // Spread: a thousand polls opened together come back over about three seconds, not in one.
  const holds = Array.from({ length: 1000 }, (_, index) => pollHoldMs(25_000, 300_000, index / 1000));
  t.is(Math.max(...holds) - Math.min(...holds), 2997);
});
