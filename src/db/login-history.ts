import type { Knex } from 'knex';
import { isUniqueViolation, toDate } from './values.js';

/** How a login came in (login_history.method, 16 characters at most); each has a `method_…` message for the profile. */
export const loginMethods = ['qrcode', 'code', 'miniprogram-code', 'open', 'oauth', 'miniprogram'] as const;
export type LoginMethod = (typeof loginMethods)[number];

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
  /** The QR scene this login used up; unique, so a scene logs in once. */
  scene?: string;
}

/** Data access for `login_history`. */
export function createLoginHistoryQueries(knex: Knex) {
  /**
   * Records a completed login. Returns false, and writes nothing, when the
   * scene was already used: that is how two racing polls end with one row.
   */
  async function insertLogin(login: NewLogin, now: Date, trx?: Knex | Knex.Transaction): Promise<boolean> {
    try {
      await (trx ?? knex)('login_history').insert({
        user_id: login.userId,
        method: login.method,
        ip: login.ip.slice(0, 64),
        user_agent: login.userAgent.slice(0, 512),
        scene: login.scene ?? null,
        created_at: now,
      });
      return true;
    } catch (error) {
      if (login.scene && isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** The user's logins, newest first. */
  async function listRecentLogins(userId: number, limit: number): Promise<LoginRecord[]> {
    const rows = await knex('login_history')
      .where({ user_id: userId })
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .limit(limit);
    return rows.map((row) => ({
      at: toDate(row.created_at),
      method: row.method as LoginMethod,
      ip: String(row.ip),
      userAgent: String(row.user_agent),
    }));
  }

  return { insertLogin, listRecentLogins };
}

export type LoginHistoryQueries = ReturnType<typeof createLoginHistoryQueries>;
