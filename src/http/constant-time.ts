import { timingSafeEqual } from 'node:crypto';

/** Compares a secret token with what a request gave, in constant time; anything not a string is unequal. */
export function textEquals(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
