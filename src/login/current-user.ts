import type { User, UserQueries } from '../db/users.js';
import type { AppContext } from '../http/context.js';

export type CurrentUser = (ctx: AppContext) => Promise<User | undefined>;

/**
 * The logged-in user of this request, or undefined. A session issued under an
 * older session version (the user unfollowed since) is logged out here.
 */
export function createCurrentUser(users: UserQueries): CurrentUser {
  return async (ctx) => {
    const session = ctx.session;
    if (!session?.userId) return undefined;
    const user = await users.findUserById(session.userId);
    if (!user || user.sessionVersion !== session.sessionVersion) {
      delete session.userId;
      delete session.sessionVersion;
      return undefined;
    }
    return user;
  };
}
