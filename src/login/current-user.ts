import type { SessionRecord } from '../db/user-sessions.js';
import type { User } from '../db/users.js';
import type { AppContext } from '../http/context.js';
import type { UserSessions } from './user-sessions.js';

export interface SignedIn {
  user: User;
  session: SessionRecord;
}

export type CurrentUser = (ctx: AppContext) => Promise<User | undefined>;
export type CurrentSession = (ctx: AppContext) => Promise<SignedIn | undefined>;

/**
 * Who is signed in on this request: the session token in the cookie, checked
 * against the server's record (one indexed query, remembered for the rest of
 * the request). A revoked, idle or expired session is forgotten from the
 * cookie, so the browser is simply signed out.
 */
export function createCurrentSession(sessions: UserSessions): CurrentSession {
  return async (ctx) => {
    if (ctx.state.signedIn !== undefined) return ctx.state.signedIn ?? undefined;
    const token = ctx.session?.auth;
    const found = token ? await sessions.resumeSession(token) : undefined;
    if (token && !found) delete ctx.session!.auth;
    ctx.state.signedIn = found ?? null;
    return found;
  };
}

/** The signed-in user of this request, or undefined. */
export function currentUserFrom(currentSession: CurrentSession): CurrentUser {
  return async (ctx) => (await currentSession(ctx))?.user;
}
