import { createHash } from 'node:crypto';
import { textEquals } from '../security/constant-time.js';

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
  return typeof given === 'string' && textEquals(expected, given.toLowerCase());
}

/** True when `timestamp` (seconds) is within `toleranceSeconds` of now; a tolerance of 0 turns the check off. */
export function timestampIsFresh(timestamp: string, toleranceSeconds: number, nowMs = Date.now()): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  if (toleranceSeconds === 0) return true;
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= toleranceSeconds;
}
