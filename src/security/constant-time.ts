import { timingSafeEqual } from 'node:crypto';

/**
 * Compares a secret (a token, a signature) with what a request gave, in
 * constant time; anything not a string is unequal. A length mismatch is
 * answered at once: it reveals nothing secret.
 */
export function textEquals(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
