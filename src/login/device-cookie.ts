import { createHash } from 'node:crypto';
import type { AppContext } from '../http/context.js';
import { randomToken } from '../http/session.js';

/**
 * The device cookie: a long-lived random id, signed with SESSION_KEYS, that
 * outlives logouts and sessions. It names "this browser" for LOGIN_CONFIRM=new-device.
 * The server keeps only its sha256, so a database leak gives no cookie to replay.
 */
export const deviceCookieName = 'wl.device';
/** Browsers cap cookie lifetimes at 400 days. */
const deviceCookieMaxAgeMs = 400 * 24 * 60 * 60 * 1000;
const deviceIdPattern = /^[A-Za-z0-9_-]{24}$/;

/** This browser's device id, made and set on first use. */
export function ensureDeviceId(ctx: AppContext): string {
  const existing = ctx.cookies.get(deviceCookieName, { signed: true });
  if (existing && deviceIdPattern.test(existing)) return existing;
  const id = randomToken(18);
  ctx.cookies.set(deviceCookieName, id, { signed: true, httpOnly: true, sameSite: 'lax', maxAge: deviceCookieMaxAgeMs, overwrite: true });
  return id;
}

/** The stored form of a device id. */
export function hashDeviceId(id: string): string {
  return createHash('sha256').update(`wechat-login device:${id}`).digest('hex');
}
