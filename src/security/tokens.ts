import { createHash, randomBytes } from 'node:crypto';

/** A random token for a URL or a cookie: `bytes` random bytes, base64url. */
export function randomToken(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * How a token is stored: its sha256, never the token itself, so that a leaked
 * table lets nobody in. `purpose` keeps one kind of token from matching
 * another's column (the confirm link, the device id, the scene's owner);
 * tables whose hashes predate purposes (sessions, API and single-use tokens)
 * hash the bare token.
 */
export function hashToken(token: string, purpose?: string): string {
  return createHash('sha256').update(purpose ? `wechat-login ${purpose}:${token}` : token).digest('hex');
}
