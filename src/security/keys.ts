import { hkdfSync } from 'node:crypto';

/**
 * The keys each purpose uses, derived from the configured secrets with HKDF
 * (RFC 5869). One purpose never signs for another: a cookie signature is no
 * scene MAC and no SMS code hash. Every list keeps the order of
 * `SESSION_KEYS`: the first key signs, every key verifies, so that rotating
 * the cookie keys (put the new key first, keep the old one for a while)
 * neither logs everyone out nor kills the QR codes on screen.
 */
export interface DerivedKeys {
  /** Keygrip keys for the signed session cookie. */
  cookie: string[];
  /** HMAC keys for login QR scenes. */
  scene: Buffer[];
  /** HMAC keys for SMS code hashes. */
  smsCode: Buffer[];
  /** HMAC keys for the links we send in WeChat messages ("end this login"). */
  link: Buffer[];
  /** Keygrip keys for the OpenID Provider's own cookies (its session and interaction cookies). */
  oidcCookie: string[];
  /** AES-256-GCM keys that encrypt the OpenID Provider's signing keys in the database. */
  oidcSigningKey: Buffer[];
}

const salt = 'wechat-login key derivation v1';

/** Derives one 32-byte key for `purpose` from `secret`. */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, `wechat-login ${purpose}`, 32));
}

/** The per-purpose keys for every configured secret, newest first. */
export function deriveKeys(secrets: string[]): DerivedKeys {
  return {
    cookie: secrets.map((secret) => deriveKey(secret, 'cookie').toString('base64url')),
    scene: secrets.map((secret) => deriveKey(secret, 'scene')),
    smsCode: secrets.map((secret) => deriveKey(secret, 'sms code')),
    link: secrets.map((secret) => deriveKey(secret, 'wechat link')),
    oidcCookie: secrets.map((secret) => deriveKey(secret, 'oidc cookie').toString('base64url')),
    oidcSigningKey: secrets.map((secret) => deriveKey(secret, 'oidc signing key encryption')),
  };
}
