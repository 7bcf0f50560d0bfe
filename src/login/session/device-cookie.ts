import type { AppContext } from '../../http/context.js';
import { cookieNameFor } from '../../http/cookie-session.js';
import { hashToken, randomToken } from '../../security/tokens.js';

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
  const existing = ctx.cookies.get(nameIn(ctx), { signed: true });
  const id = existing && deviceIdPattern.test(existing) ? existing : setDeviceCookie(ctx, randomToken(18));
  settled.set(ctx, id);
  return id;
}

/** The ids a completing login gave out, per request (a login may ask twice). */
const reissued = new WeakMap<AppContext, { id: string; previous?: string }>();

/**
 * A completed login gives the browser a new device id, and only that one can
 * become a known device: an id this server issued to this very browser, in the
 * session that completed the login. A device cookie planted from elsewhere (a
 * sibling subdomain, a plain-http page), the attacker's own, is replaced here
 * and never becomes the victim's known device. `previous` is the id the
 * browser came with, which the user's known devices no longer need.
 */
export function reissueDeviceId(ctx: AppContext): { id: string; previous?: string } {
  const done = reissued.get(ctx);
  if (done) return done;
  const existing = ctx.cookies.get(nameIn(ctx), { signed: true });
  const fresh = { id: setDeviceCookie(ctx, randomToken(18)), previous: existing && deviceIdPattern.test(existing) ? existing : undefined };
  reissued.set(ctx, fresh);
  settled.set(ctx, fresh.id);
  return fresh;
}

/** Secure (and so __Host-) exactly when the session cookie is: PUBLIC_URL is https (http/secure-cookies.ts). */
function secureIn(ctx: AppContext): boolean {
  return (ctx.cookies as unknown as { secure?: boolean }).secure === true;
}

function nameIn(ctx: AppContext): string {
  return cookieNameFor(deviceCookieName, secureIn(ctx));
}

function setDeviceCookie(ctx: AppContext, id: string): string {
  const secure = secureIn(ctx);
  ctx.cookies.set(nameIn(ctx), id, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: deviceCookieMaxAgeMs, overwrite: true });
  return id;
}

/** The stored form of a device id. */
export function hashDeviceId(id: string): string {
  return hashToken(id, 'device');
}
