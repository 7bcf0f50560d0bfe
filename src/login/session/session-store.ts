import type { Knex } from 'knex';
import type { User } from '../../db/users.js';
import type { KnownDeviceQueries } from '../../db/known-devices.js';
import type { SessionEndNotice, SessionRecord, UserSessionQueries } from '../../db/user-sessions.js';
import type { Logger } from '../../logging/logger.js';
import { randomToken } from '../../security/tokens.js';

/** A request's signed-in user and the server-side session that holds them. */
export interface SignedIn {
  user: User;
  session: SessionRecord;
}

export interface SessionStoreDeps {
  queries: UserSessionQueries;
  /** The browsers that skip the confirmation on the phone (LOGIN_CONFIRM=new-device). */
  devices: Pick<KnownDeviceQueries, 'forgetDevices'>;
  /**
   * Resolves once the user's logins in this process have their browsers
   * written (device-memory.ts writes them after the answer, and only for a
   * session still live): a logout keeps its browser known, and "not me"
   * forgets it, so both wait for that before a session ends.
   */
  devicesRemembered?: (userId: number) => Promise<void>;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
  /** One line per session ended, with why (never a token). */
  logger?: Logger;
  now?: () => number;
}

export interface SessionStart {
  userId: number;
  method: string;
  ip: string;
  userAgent: string;
  deviceHash?: string;
  /** When the login was confirmed on the phone (the operator console needs a recent one). */
  confirmedAt?: number;
  /** The QR scene the login uses up. */
  scene?: string;
}

/** The most often a session's last-seen time is written: reads stay one query, writes stay rare. */
const longestTouchIntervalMs = 60_000;

/**
 * Signed-in sessions kept on the server. The browser holds a random token
 * (inside the signed session cookie); the server holds its hash, and the
 * session is over when its row is revoked, when it has been idle too long, or
 * when its absolute lifetime is up, whatever any copy of the cookie says.
 */
export function createSessionStore(deps: SessionStoreDeps) {
  const now = deps.now ?? Date.now;
  const idleMs = deps.idleTimeoutSeconds * 1000;
  const touchIntervalMs = Math.min(longestTouchIntervalMs, idleMs / 4);

  /**
   * Starts a session, in one INSERT that is also the login's history line (in
   * the caller's transaction when given); returns the token for the cookie.
   * Undefined when the scene was used by another login.
   */
  async function startSession(start: SessionStart, trx?: Knex.Transaction): Promise<{ token: string; id: number } | undefined> {
    const token = randomToken(32);
    const at = new Date(now());
    const expiresAt = new Date(at.getTime() + deps.maxLifetimeSeconds * 1000);
    const id = await deps.queries.insertSession(token, { ...start, expiresAt }, at, trx);
    return id === undefined ? undefined : { token, id };
  }

  /** The live session of `token` and its user, or undefined. Refreshes the idle clock now and then. */
  async function resumeSession(token: string): Promise<{ user: User; session: SessionRecord } | undefined> {
    const found = await deps.queries.findSessionWithUser(token);
    // A blocked user (the operator console) is signed in nowhere, whatever their cookie says.
    if (!found || found.user.blockedAt) return undefined;
    const at = now();
    if (found.session.expiresAt.getTime() <= at || found.session.lastSeenAt.getTime() + idleMs <= at) return undefined;
    if (at - found.session.lastSeenAt.getTime() >= touchIntervalMs) await deps.queries.touchSession(found.session.id, new Date(at));
    return found;
  }

  /**
   * Why the session of `token` is over, for a browser whose cookie still
   * names it: undefined when the token is unknown, live, or was logged out
   * by this browser itself (nothing to explain).
   */
  async function whyEnded(token: string): Promise<SessionEndNotice | undefined> {
    const ended = await deps.queries.findSessionEnd(token);
    if (!ended) return undefined;
    if (ended.revokedAt) return ended.endReason === 'logout' ? undefined : (ended.endReason ?? 'unknown');
    const at = now();
    return ended.expiresAt.getTime() <= at || ended.lastSeenAt.getTime() + idleMs <= at ? 'expired' : undefined;
  }

  /** The user's live sessions, most recently used first. */
  function listSessions(userId: number): Promise<SessionRecord[]> {
    const at = now();
    return deps.queries.listLiveSessions(userId, new Date(at - idleMs), new Date(at));
  }

  /** One live session of the user, or undefined (ended, idle too long, or past its lifetime). */
  async function findLiveSession(userId: number, sessionId: number): Promise<SessionRecord | undefined> {
    const session = await deps.queries.findSessionOfUser(userId, sessionId);
    const at = now();
    return session && session.expiresAt.getTime() > at && session.lastSeenAt.getTime() + idleMs > at ? session : undefined;
  }

  const ended = (fields: { userId: number; sessionId?: number; reason: string; except?: number }) => deps.logger?.info('session ended', fields);

  /** Logging out: the session ends, and the browser stays a known device (README). */
  async function endSession(userId: number, sessionId: number): Promise<boolean> {
    await deps.devicesRemembered?.(userId);
    const done = await deps.queries.revokeSession(userId, sessionId, new Date(now()), 'logout');
    if (done) ended({ userId, sessionId, reason: 'logout' });
    return done;
  }

  /**
   * "Not me", or "not my device any more" (the profile's list, the notice's
   * link): the session ends and its browser is forgotten, so that its next
   * login asks the phone again instead of skipping the confirmation. `reason`
   * is what that browser is told: `revoked` from another device's profile,
   * `end-link` from the link on the phone.
   */
  async function disownSession(userId: number, sessionId: number, reason: 'revoked' | 'end-link' | 'logout'): Promise<boolean> {
    await deps.devicesRemembered?.(userId);
    const session = await deps.queries.findSessionOfUser(userId, sessionId);
    if (!session || !(await deps.queries.revokeSession(userId, sessionId, new Date(now()), reason))) return false;
    ended({ userId, sessionId, reason });
    if (session.deviceHash) await deps.devices.forgetDevices(userId, [session.deviceHash]);
    return true;
  }

  /** Every session of the user but `keep` ends, and their browsers but this one are forgotten. */
  async function disownOtherSessions(userId: number, keep: SessionRecord): Promise<void> {
    await deps.devicesRemembered?.(userId);
    const deviceHashes = await deps.queries.revokeSessionsOfUser(userId, new Date(now()), 'revoked', keep.id);
    ended({ userId, reason: 'revoked', except: keep.id });
    const others = deviceHashes.filter((hash) => hash !== keep.deviceHash);
    if (others.length > 0) await deps.devices.forgetDevices(userId, others);
  }

  /** Unfollowing: every session ends and every browser of the user is forgotten. */
  async function endAllSessions(userId: number, trx?: Knex.Transaction): Promise<void> {
    await deps.queries.revokeSessionsOfUser(userId, new Date(now()), 'unfollow', undefined, trx);
    ended({ userId, reason: 'unfollow' });
    await deps.devices.forgetDevices(userId, undefined, trx);
  }

  /**
   * Ends, as `expired`, the sessions that went idle or reached their lifetime
   * (already refused to every request): their end is then told to the
   * applications like any other. Run now and then by the app; returns how many.
   */
  async function endExpiredSessions(): Promise<number> {
    const at = now();
    let count = 0;
    // Rounds of at most 500, each its own short transaction, up to 10,000 a run.
    for (let round = 0; round < 20; round += 1) {
      const ended = await deps.queries.endExpiredSessions(new Date(at), new Date(at - idleMs), 500);
      count += ended;
      if (ended < 500) break;
    }
    if (count > 0) deps.logger?.info('expired sessions ended', { count });
    return count;
  }

  return { startSession, resumeSession, whyEnded, listSessions, findLiveSession, endSession, disownSession, disownOtherSessions, endAllSessions, endExpiredSessions };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
