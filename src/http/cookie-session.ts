import { randomToken } from '../security/tokens.js';
import type Koa from 'koa';
import session from 'koa-session';
import type { AppContext, SessionData } from './context.js';

export const sessionCookieName = 'wl.sid';

/**
 * A cookie's name as this server sets it: with the `__Host-` prefix whenever
 * the cookie is Secure (PUBLIC_URL is https). Browsers then accept it only
 * from this very host, over https, with Path=/ and no Domain: a sibling
 * subdomain or a plain-http page cannot plant it (session fixation, a planted
 * device). Over plain http (development) the prefix is not allowed, so none.
 */
export function cookieNameFor(name: string, secure: boolean): string {
  return secure ? `__Host-${name}` : name;
}

/**
 * The browser's session lives in a signed, httpOnly, SameSite=Lax cookie
 * (secure when the site is served over https): the anonymous part (scenes,
 * CSRF token, a pending binding) costs waiting polls no query. Being signed
 * in is not decided here: the cookie carries only the token of a session
 * kept on the server (see login/session/session-store.ts), which can be ended.
 */
export function createSessionMiddleware(app: Koa, options: { secure: boolean; maxAgeMs: number }) {
  return session(
    {
      key: cookieNameFor(sessionCookieName, options.secure),
      maxAge: options.maxAgeMs,
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secure,
      signed: true,
      renew: true,
    },
    app,
  );
}

/** The session's data, with a sid and CSRF token created on first use. */
export function sessionOf(ctx: AppContext): SessionData {
  const data = ctx.session as SessionData;
  data.sid ??= randomToken();
  data.csrf ??= randomToken();
  return data;
}

/**
 * Replaces the session with a fresh one (new sid, new CSRF token) carrying
 * only `keep`. Done on every login, so a session planted before the login
 * (fixation) never becomes a logged-in one.
 */
export function regenerateSession(ctx: AppContext, keep: Partial<SessionData>): SessionData {
  const lang = ctx.session?.lang;
  ctx.session = null;
  (ctx as { session: unknown }).session = { ...keep, lang, sid: randomToken(), csrf: randomToken() };
  return ctx.session as unknown as SessionData;
}

/**
 * The same anonymous session under a new id and CSRF token: done whenever the
 * login page shows a code, so that a copy of the cookie planted or kept from
 * before (session fixation) is no longer this browser's session.
 */
export function rotateSessionId(ctx: AppContext): SessionData {
  const { sid: _sid, csrf: _csrf, ...keep } = (ctx.session?.toJSON() ?? {}) as Partial<SessionData>;
  return regenerateSession(ctx, keep);
}
