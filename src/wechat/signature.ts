import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * sha1 over the lexically sorted parts, joined without a separator: the
 * callback `signature` uses [token, timestamp, nonce] and `msg_signature`
 * adds the Encrypt field.
 * https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
 */
export function computeSignature(parts: string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

/** Compares an expected hex digest with the one given, in constant time. */
export function signatureMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const expectedBytes = Buffer.from(expected, 'utf8');
  const givenBytes = Buffer.from(given.toLowerCase(), 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch reveals nothing secret.
  return expectedBytes.length === givenBytes.length && timingSafeEqual(expectedBytes, givenBytes);
}

/** True when `timestamp` (seconds) is within `toleranceSeconds` of now; a tolerance of 0 turns the check off. */
export function timestampIsFresh(timestamp: string, toleranceSeconds: number, nowMs = Date.now()): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  if (toleranceSeconds === 0) return true;
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= toleranceSeconds;
}
