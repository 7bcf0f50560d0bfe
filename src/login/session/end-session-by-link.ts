import type { SessionRecord } from '../../db/user-sessions.js';
import type { UserQueries } from '../../db/users.js';
import type { EndSessionLinks } from './end-session-links.js';
import type { SessionStore } from './session-store.js';

export type EndLinkCheck =
  | { kind: 'gone' }
  | { kind: 'foreign' }
  | { kind: 'ended' }
  | { kind: 'live'; userId: number; session: SessionRecord };

export interface EndSessionByLinkDeps {
  links: EndSessionLinks;
  users: Pick<UserQueries, 'findUserById'>;
  sessions: Pick<SessionStore, 'findLiveSession' | 'disownSession'>;
}

/**
 * The "end this login" link from the WeChat notice. Who may use it: the user
 * the session belongs to, proven by WeChat (their openid), never whoever holds
 * the link. What they learn: that session's browser, IP and time, their own.
 */
export function createEndSessionByLink(deps: EndSessionByLinkDeps) {
  /** Where the link stands for the WeChat user `openid`. */
  async function checkLink(token: unknown, openid: string): Promise<EndLinkCheck> {
    const link = deps.links.readToken(token);
    if (!link) return { kind: 'gone' };
    const user = await deps.users.findUserById(link.userId);
    if (!user || user.openid !== openid) return { kind: 'foreign' };
    const session = await deps.sessions.findLiveSession(link.userId, link.sessionId);
    return session ? { kind: 'live', userId: link.userId, session } : { kind: 'ended' };
  }

  /** Ends the session the link names, when `openid` owns it; says where it stood. */
  async function endByLink(token: unknown, openid: string): Promise<EndLinkCheck['kind']> {
    const check = await checkLink(token, openid);
    // "Not me": the session ends, and its browser no longer skips the confirmation on the phone.
    if (check.kind === 'live') await deps.sessions.disownSession(check.userId, check.session.id, 'end-link');
    return check.kind;
  }

  return { checkLink, endByLink };
}

export type EndSessionByLink = ReturnType<typeof createEndSessionByLink>;
