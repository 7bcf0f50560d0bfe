import type { Knex } from 'knex';
import { hashToken, randomToken } from '../security/tokens.js';
import { toDate } from './values.js';

/** How a login came in (user_sessions.method, 16 characters at most); each has a `method_…` message for the profile. */
export const loginMethods = ['qrcode', 'code', 'miniprogram-code', 'open', 'oauth', 'miniprogram'] as const;
export type LoginMethod = (typeof loginMethods)[number];

/** `user_sessions.end_reason` of a login that had no browser session: it ended as it began. */
export const noSessionReason = 'no-session';

/** The time of the user's newest login, as a subquery of a query on `users` (index user_id, created_at). */
export function newestLoginOfUser(knex: Knex | Knex.Transaction): Knex.QueryBuilder {
  return knex('user_sessions').max('created_at').where('user_sessions.user_id', knex.ref('users.id'));
}

export interface LoginRecord {
  at: Date;
  method: LoginMethod;
  ip: string;
  userAgent: string;
}

export interface NewLogin {
  userId: number;
  method: LoginMethod;
  ip: string;
  userAgent: string;
}

/**
 * The login history: every login is one row of `user_sessions` (a browser's
 * session, or a login without one), so a browser login is recorded by the
 * INSERT that starts its session (db/user-sessions.ts).
 */
export function createLoginHistoryQueries(knex: Knex) {
  /**
   * A login without a browser session (the mini-program's, whose session is
   * its bearer token): a row that ended as it began, holding the hash of a
   * token nobody was given, so no cookie can ever name it.
   */
  async function insertLoginWithoutSession(login: NewLogin, now: Date, trx?: Knex.Transaction): Promise<number> {
    const [id] = await (trx ?? knex)('user_sessions').insert({
      token_hash: hashToken(randomToken(32)),
      user_id: login.userId,
      method: login.method,
      ip: login.ip.slice(0, 45),
      user_agent: login.userAgent.slice(0, 512),
      created_at: now,
      last_seen_at: now,
      expires_at: now,
      revoked_at: now,
      end_reason: noSessionReason,
    });
    return Number(id);
  }

  /** The user's logins, newest first. */
  async function listRecentLogins(userId: number, limit: number): Promise<LoginRecord[]> {
    const rows = await knex('user_sessions')
      .where({ user_id: userId })
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .limit(limit)
      .select('created_at', 'method', 'ip', 'user_agent');
    return rows.map((row) => ({
      at: toDate(row.created_at),
      method: row.method as LoginMethod,
      ip: String(row.ip),
      userAgent: String(row.user_agent),
    }));
  }

  return { insertLoginWithoutSession, listRecentLogins };
}

export type LoginHistoryQueries = ReturnType<typeof createLoginHistoryQueries>;
