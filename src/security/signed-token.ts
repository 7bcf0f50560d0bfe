import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A payload with a truncated HMAC-SHA256 after it, base64url: what the QR
 * scenes and the "end this login" links are, so that any instance can tell one
 * of ours without storing it. `keys`: newest first; the first signs and any
 * verifies, so rotating a key leaves the live tokens working.
 */
export function createTokenSigner(keys: Buffer[], macLength: number) {
  const mac = (key: Buffer, payload: Buffer) => createHmac('sha256', key).update(payload).digest().subarray(0, macLength);

  function sign(payload: Buffer): string {
    return Buffer.concat([payload, mac(keys[0], payload)]).toString('base64url');
  }

  /** The payload of a token of `payloadLength` bytes that one of the keys signed, or undefined. */
  function open(token: string, payloadLength: number): Buffer | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length !== payloadLength + macLength) return undefined;
    const payload = bytes.subarray(0, payloadLength);
    const given = bytes.subarray(payloadLength);
    return keys.some((key) => timingSafeEqual(given, mac(key, payload))) ? payload : undefined;
  }

  return { sign, open };
}
