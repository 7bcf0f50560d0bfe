import type { User } from '../../db/users.js';
import type { AppContext } from '../../http/context.js';
import type { SessionStore, SignedIn } from './session-store.js';


export type CurrentUser = (ctx: AppContext) => Promise<User | undefined>;
export type CurrentSession = (ctx: AppContext) => Promise<SignedIn | undefined>;

/**
 * Who is signed in on this request: the session token in the cookie, checked
 * against the server's record (one indexed query, remembered for the rest of
 * the request). A revoked, idle or expired session is forgotten from the
 * cookie, so the browser is signed out; why it ended (from the phone, another
 * device, an unfollow, an administrator, expiry) is kept in the cookie
 * session until the login page has said it once. Its own logout says nothing.
 */
/** Each request's lookup, once made (null: looked up, none); gone with the request. */
const lookedUp = new WeakMap<AppContext, SignedIn | null>();

export function createCurrentSession(sessions: Pick<SessionStore, 'resumeSession' | 'whyEnded'>): CurrentSession {
  return async (ctx) => {
    if (lookedUp.has(ctx)) return lookedUp.get(ctx) ?? undefined;
    const token = ctx.session?.auth;
    const found = token ? await sessions.resumeSession(token) : undefined;
    if (token && !found) {
      // Once per browser: the token leaves the cookie here, so this extra read is not paid again.
      const why = await sessions.whyEnded(token);
      delete ctx.session!.auth;
      if (why) ctx.session!.sessionEnded = why;
    }
    lookedUp.set(ctx, found ?? null);
    return found;
  };
}

/** The signed-in user of this request, or undefined. */
export function currentUserFrom(currentSession: CurrentSession): CurrentUser {
  return async (ctx) => (await currentSession(ctx))?.user;
}
