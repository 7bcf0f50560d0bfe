import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Login QR scenes: 16 random bytes (128 bits), the expiry, and an HMAC,
 * base64url-encoded into 40 characters (WeChat allows 64). Never a timestamp
 * alone: two visitors in one second would collide.
 *
 * The HMAC lets any instance tell a scene we issued, and whether it expired,
 * without storing it: a scan of a forged, unknown or stale scene is refused
 * before it touches the database.
 */
const randomLength = 16;
const expiryLength = 4;
const macLength = 10;

export interface SceneIssuer {
  issueScene(expiresAtMs: number): string;
  /** The scene's expiry (ms), or undefined when the scene is not one of ours. */
  readSceneExpiry(scene: string): number | undefined;
}

/** `keys`: the scene keys, newest first; the first signs, any verifies (key rotation keeps live codes). */
export function createSceneIssuer(keys: Buffer[]): SceneIssuer {
  const mac = (key: Buffer, payload: Buffer) => createHmac('sha256', key).update(payload).digest().subarray(0, macLength);

  function issueScene(expiresAtMs: number): string {
    const expiry = Buffer.alloc(expiryLength);
    expiry.writeUInt32BE(Math.ceil(expiresAtMs / 1000), 0);
    const payload = Buffer.concat([randomBytes(randomLength), expiry]);
    return Buffer.concat([payload, mac(keys[0], payload)]).toString('base64url');
  }

  function readSceneExpiry(scene: string): number | undefined {
    if (scene.length !== 40 || !/^[A-Za-z0-9_-]+$/.test(scene)) return undefined;
    const bytes = Buffer.from(scene, 'base64url');
    const payload = bytes.subarray(0, randomLength + expiryLength);
    const given = bytes.subarray(randomLength + expiryLength);
    if (given.length !== macLength || !keys.some((key) => timingSafeEqual(given, mac(key, payload)))) return undefined;
    return payload.readUInt32BE(randomLength) * 1000;
  }

  return { issueScene, readSceneExpiry };
}
