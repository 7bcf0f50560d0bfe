import { randomBytes } from 'node:crypto';
import { createTokenSigner } from '../../security/signed-token.js';
import type { Lang } from '../../messages/catalogue.js';

/**
 * Login QR scenes: 16 random bytes (128 bits), the expiry, the language of
 * the browser that asked, and an HMAC, base64url-encoded into 42 characters
 * (WeChat allows 64). Never a timestamp alone: two visitors in one second
 * would collide.
 *
 * The HMAC lets any instance tell a scene we issued, and whether it expired,
 * without storing it: a scan of a forged, unknown or stale scene is refused
 * before it touches the database. The language rides along for the same
 * reason: the scan's callback carries no cookie, and the replies in WeChat
 * speak the language of the page that showed the code.
 */
const randomLength = 16;
const expiryLength = 4;
const langLength = 1;
const macLength = 10;
/** Scenes issued before the language was carried: still read, as Chinese, until they expire. */
const legacyLength = 40;
const currentLength = 42;
const langCodes: Lang[] = ['zh', 'en'];

export interface SceneFacts {
  /** When the scene's code expires (ms). */
  expiresAt: number;
  /** The language of the browser that asked for the code. */
  lang: Lang;
}

export interface SceneIssuer {
  issueScene(expiresAtMs: number, lang?: Lang): string;
  /** What the scene says of itself, or undefined when the scene is not one of ours. */
  readScene(scene: string): SceneFacts | undefined;
  /** The scene's expiry (ms), or undefined when the scene is not one of ours. */
  readSceneExpiry(scene: string): number | undefined;
}

/** `keys`: the scene keys, newest first; the first signs, any verifies (key rotation keeps live codes). */
export function createSceneIssuer(keys: Buffer[]): SceneIssuer {
  const signer = createTokenSigner(keys, macLength);

  function issueScene(expiresAtMs: number, lang: Lang = 'zh'): string {
    const expiry = Buffer.alloc(expiryLength);
    expiry.writeUInt32BE(Math.ceil(expiresAtMs / 1000), 0);
    const payload = Buffer.concat([randomBytes(randomLength), expiry, Buffer.of(langCodes.indexOf(lang))]);
    return signer.sign(payload);
  }

  function readScene(scene: string): SceneFacts | undefined {
    if (scene.length !== currentLength && scene.length !== legacyLength) return undefined;
    const payloadLength = randomLength + expiryLength + (scene.length === currentLength ? langLength : 0);
    const payload = signer.open(scene, payloadLength);
    if (!payload) return undefined;
    const lang = payloadLength > randomLength + expiryLength ? langCodes[payload[randomLength + expiryLength]] : 'zh';
    return { expiresAt: payload.readUInt32BE(randomLength) * 1000, lang: lang ?? 'zh' };
  }

  return { issueScene, readScene, readSceneExpiry: (scene) => readScene(scene)?.expiresAt };
}
