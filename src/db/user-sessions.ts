import { hashToken } from '../security/tokens.js';
import type { Knex } from 'knex';
import { toUser, type User } from './users.js';
import { type EventLog, noEventLog } from './event-log.js';
import { endLiveSessions, sessionEndReasons, type SessionEndReason } from './session-endings.js';
import { inTransaction } from './transaction.js';
import { isUniqueViolation, toDate, toOptionalDate } from './values.js';

/** Only the sha256 of a session token is stored: a leaked table signs nobody in. */
export function hashSessionToken(token: string): string {
  return hashToken(token);
}

export { sessionEndReasons, type SessionEndReason } from './session-endings.js';

/**
 * What the login page tells a browser whose session ended elsewhere: a stored
 * reason, `expired` (idle or past its lifetime), or `unknown` (ended before
 * reasons were kept). A logout of its own says nothing, so it is not here.
 */
export type SessionEndNotice = Exclude<SessionEndReason, 'logout'> | 'unknown';

/** A session that is over, as its token finds it (revoked or not). */
export interface EndedSession {
  revokedAt: Date | null;
  endReason: SessionEndReason | null;
  lastSeenAt: Date;
  expiresAt: Date;
}

export interface NewSession {
  userId: number;
  method: string;
  ip: string;
  userAgent: string;
  /** The browser's device cookie, hashed (none for logins that are not a browser's). */
  deviceHash?: string;
  /** When the login was confirmed on the phone (the number picked, or a code sent to the account). */
  confirmedAt?: number;
  /** The QR scene this login used up: unique, so a scene logs in once. */
  scene?: string;
  expiresAt: Date;
}

export interface SessionRecord {
  id: number;
  userId: number;
  deviceHash: string | null;
  ip: string;
  userAgent: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  /** When the login that began it was confirmed on the phone; null when it was not. */
  confirmedAt: Date | null;
}

/** Data access for `user_sessions`, the signed-in sessions. */
export function createUserSessionQueries(knex: Knex, events: EventLog = noEventLog) {
  const table = (trx: Knex | Knex.Transaction = knex) => trx('user_sessions');

  /**
   * Stores a new session for `token`, which is also the login's history line
   * (db/login-history.ts); returns its id. Undefined, and nothing written,
   * when its scene was used by another login: that is how two racing polls
   * end with one login.
   */
  async function insertSession(token: string, session: NewSession, now: Date, trx?: Knex.Transaction): Promise<number | undefined> {
    try {
      const [id] = await table(trx).insert({
        token_hash: hashSessionToken(token),
        user_id: session.userId,
        method: session.method,
        ip: session.ip.slice(0, 45),
        user_agent: session.userAgent.slice(0, 512),
        device_hash: session.deviceHash ?? null,
        scene: session.scene ?? null,
        created_at: now,
        last_seen_at: now,
        expires_at: session.expiresAt,
        confirmed_at: session.confirmedAt === undefined ? null : new Date(session.confirmedAt),
      });
      return Number(id);
    } catch (error) {
      if (session.scene && isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /**
   * The unrevoked session of `token` with its user, in one indexed query (every
   * signed-in request pays it). The caller judges idle time and expiry.
   */
  async function findSessionWithUser(token: string): Promise<{ session: SessionRecord; user: User } | undefined> {
    const row = await knex('user_sessions as s')
      .join('users as u', 'u.id', 's.user_id')
      .where('s.token_hash', hashSessionToken(token))
      .whereNull('s.revoked_at')
      .first(
        'u.*',
        's.id as s_id',
        's.ip as s_ip',
        's.device_hash as s_device_hash',
        's.user_agent as s_user_agent',
        's.created_at as s_created_at',
        's.last_seen_at as s_last_seen_at',
        's.expires_at as s_expires_at',
        's.confirmed_at as s_confirmed_at',
      );
    if (!row) return undefined;
    const session: SessionRecord = {
      id: Number(row.s_id),
      userId: Number(row.id),
      deviceHash: (row.s_device_hash as string | null) ?? null,
      ip: String(row.s_ip),
      userAgent: String(row.s_user_agent),
      createdAt: toDate(row.s_created_at),
      lastSeenAt: toDate(row.s_last_seen_at),
      expiresAt: toDate(row.s_expires_at),
      confirmedAt: toOptionalDate(row.s_confirmed_at),
    };
    return { session, user: toUser(row)! };
  }

  /**
   * The session of `token` whatever became of it, for saying why it ended
   * (once per browser: the cookie forgets the token afterwards).
   */
  async function findSessionEnd(token: string): Promise<EndedSession | undefined> {
    const row = await table().where({ token_hash: hashSessionToken(token) }).first('revoked_at', 'end_reason', 'last_seen_at', 'expires_at');
    if (!row) return undefined;
    const reason = row.end_reason as string | null;
    return {
      revokedAt: toOptionalDate(row.revoked_at),
      endReason: reason && (sessionEndReasons as readonly string[]).includes(reason) ? (reason as SessionEndReason) : null,
      lastSeenAt: toDate(row.last_seen_at),
      expiresAt: toDate(row.expires_at),
    };
  }

  async function touchSession(id: number, now: Date): Promise<void> {
    await table().where({ id }).update({ last_seen_at: now });
  }

  /** The user's unrevoked, unexpired sessions, most recently used first. */
  async function listLiveSessions(userId: number, idleSince: Date, now: Date): Promise<SessionRecord[]> {
    const rows = await table()
      .where({ user_id: userId })
      .whereNull('revoked_at')
      .andWhere('last_seen_at', '>', idleSince)
      .andWhere('expires_at', '>', now)
      .orderBy([{ column: 'last_seen_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
    return rows.map(toSession);
  }

  /** One unrevoked session of the user, or undefined. */
  async function findSessionOfUser(userId: number, id: number): Promise<SessionRecord | undefined> {
    const row = await table().where({ id, user_id: userId }).whereNull('revoked_at').first();
    return row ? toSession(row) : undefined;
  }

  /** Ends one session of the user, saying why; false when it was not theirs or already over. */
  async function revokeSession(userId: number, id: number, now: Date, reason: SessionEndReason): Promise<boolean> {
    const ended = await inTransaction(knex, (trx) => endLiveSessions(trx, (query) => query.where({ id, user_id: userId }), reason, now, events));
    return ended.length === 1;
  }

  /** Ends every session of the user except `keepId` (none when undefined), saying why; returns the device hashes of those it ended. */
  async function revokeSessionsOfUser(userId: number, now: Date, reason: SessionEndReason, keepId?: number, trx?: Knex.Transaction): Promise<string[]> {
    const pick = (query: Knex.QueryBuilder) => (keepId === undefined ? query.where({ user_id: userId }) : query.where({ user_id: userId }).andWhereNot({ id: keepId }));
    const ended = trx ? await endLiveSessions(trx, pick, reason, now, events) : await inTransaction(knex, (own) => endLiveSessions(own, pick, reason, now, events));
    return ended.map((session) => session.deviceHash).filter((hash): hash is string => Boolean(hash));
  }

  /**
   * Ends (as `expired`) up to `limit` sessions idle since `idleSince` or past
   * their lifetime, so that their end is told like any other; returns how many.
   */
  async function endExpiredSessions(now: Date, idleSince: Date, limit = 500): Promise<number> {
    const over = (query: Knex.QueryBuilder) => query.where((ended) => ended.where('expires_at', '<=', now).orWhere('last_seen_at', '<=', idleSince));
    // Found without a lock (two indexes make it cheap), then locked by id alone, the conditions checked again
    // under the lock: a locking scan would hold every row it reads, and stall logins while it runs.
    const ids = (await over(table().whereNull('revoked_at')).orderBy('id').limit(limit).pluck('id')).map(Number);
    if (ids.length === 0) return 0;
    return (await inTransaction(knex, (trx) => endLiveSessions(trx, (query) => over(query.whereIn('id', ids)), 'expired', now, events))).length;
  }

  return { insertSession, findSessionWithUser, findSessionEnd, touchSession, listLiveSessions, findSessionOfUser, revokeSession, revokeSessionsOfUser, endExpiredSessions };
}

export type UserSessionQueries = ReturnType<typeof createUserSessionQueries>;

function toSession(row: Record<string, unknown>): SessionRecord {
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    deviceHash: (row.device_hash as string | null) ?? null,
    ip: String(row.ip),
    userAgent: String(row.user_agent),
    createdAt: toDate(row.created_at),
    lastSeenAt: toDate(row.last_seen_at),
    expiresAt: toDate(row.expires_at),
    confirmedAt: toOptionalDate(row.confirmed_at),
  };
}
