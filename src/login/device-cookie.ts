import { createHash } from 'node:crypto';
import type { AppContext } from '../http/context.js';
import { cookieNameFor, randomToken } from '../http/session.js';

/**
 * The device cookie: a long-lived random id, signed with SESSION_KEYS, that
 * outlives logouts and sessions. It names "this browser" for LOGIN_CONFIRM=new-device.
 * The server keeps only its sha256, so a database leak gives no cookie to replay.
 */
export const deviceCookieName = 'wl.device';
/** Browsers cap cookie lifetimes at 400 days. */
const deviceCookieMaxAgeMs = 400 * 24 * 60 * 60 * 1000;
const deviceIdPattern = /^[A-Za-z0-9_-]{24}$/;

/**
 * The id each request settled on. A request may ask more than once (a login names the
 * browser in its session, then remembers it as a known device), and the request's cookies
 * are what the browser sent: without this, a browser that came without the cookie would get
 * a new id at every ask, the session would name one and the cookie another.
 */
const settled = new WeakMap<AppContext, string>();

/** This browser's device id, made and set on first use. */
export function ensureDeviceId(ctx: AppContext): string {
  const known = settled.get(ctx);
  if (known) return known;
  // Secure (and so __Host-) exactly when the session cookie is: PUBLIC_URL is https (http/secure-cookies.ts).
  const secure = (ctx.cookies as unknown as { secure?: boolean }).secure === true;
  const name = cookieNameFor(deviceCookieName, secure);
  const existing = ctx.cookies.get(name, { signed: true });
  let id: string;
  if (existing && deviceIdPattern.test(existing)) id = existing;
  else {
    id = randomToken(18);
    ctx.cookies.set(name, id, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: deviceCookieMaxAgeMs, overwrite: true });
  }
  settled.set(ctx, id);
  return id;
}

/** The stored form of a device id. */
export function hashDeviceId(id: string): string {
  return createHash('sha256').update(`wechat-login device:${id}`).digest('hex');
}
