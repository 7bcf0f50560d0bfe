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

/**
 * True when `timestamp` (seconds) is within `toleranceSeconds` of now; a tolerance of 0 turns the check off.
 * Decimal digits with no leading zero, always: the plaintext signature is over the sorted strings, so with
 * "0123" accepted as 123 a nonce that starts and ends with 0 could trade digits with the timestamp and
 * keep the signature valid (a splice the replay guard would see as a new pair).
 */
export function timestampIsFresh(timestamp: string, toleranceSeconds: number, nowMs = Date.now()): boolean {
  if (!/^[1-9]\d{0,11}$/.test(timestamp)) return false;
  if (toleranceSeconds === 0) return true;
  return Math.abs(nowMs / 1000 - Number(timestamp)) <= toleranceSeconds;
}
