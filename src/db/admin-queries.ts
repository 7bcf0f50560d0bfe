import { type EventLog, noEventLog } from './event-log.js';
import { endLiveSessions } from './session-endings.js';
import { inTransaction } from './transaction.js';
import type { Knex } from 'knex';
import { newestLoginOfUser } from './login-history.js';
import { toDate, toOptionalDate } from './values.js';

export interface AdminUserRow {
  id: number;
  openid: string | null;
  miniOpenid: string | null;
  unionid: string | null;
  phone: string | null;
  subscribed: boolean;
  lastLoginTime: Date | null;
  createdAt: Date;
}

export interface AdminLoginRow {
  at: Date;
  userId: number;
  phone: string | null;
  method: string;
  ip: string;
  userAgent: string;
}

export type UserKey = { phone: string } | { openid: string } | { unionid: string } | { id: number };

/** The operator's reads and writes (npm run admin): whole rows, unmasked, by any identifier. */
export function createAdminQueries(knex: Knex, events: EventLog = noEventLog) {
  /** Users matching `key`; a unionid may be shared by an Official Account user and a mini-program one. */
  async function findUsers(key: UserKey): Promise<AdminUserRow[]> {
    // The last login is the user's newest login row (index user_id, created_at).
    const rows = await knex('users').where(columnOf(key)).orderBy('id').select('users.*', newestLoginOfUser(knex).as('last_login_time'));
    return rows.map(toAdminUser);
  }

  /**
   * Clears the phone of the user who holds it, and signs them out everywhere
   * (a signed-in user always has a phone; the session version ends pending
   * bindings too). False when nobody holds it.
   */
  async function unbindPhone(phone: string, now: Date): Promise<boolean> {
    return inTransaction(knex, async (trx) => {
      const user = await trx('users').where({ phone }).first('id');
      if (!user) return false;
      await trx('users').where({ id: user.id }).update({ phone: null, session_version: knex.raw('session_version + 1'), updated_at: now });
      // The browsers are told, at their next page, that an administrator ended their session.
      await endLiveSessions(trx, (query) => query.where({ user_id: user.id }), 'admin', now, events);
      await trx('api_tokens').where({ user_id: user.id }).whereNull('revoked_at').update({ revoked_at: now });
      await trx('known_devices').where({ user_id: user.id }).delete();
      return true;
    });
  }

  /** Ends every signed-in session and mini-program token of the users; returns how many ended. */
  async function endSessions(userIds: number[], now: Date): Promise<{ sessions: number; tokens: number; devices: number }> {
    return inTransaction(knex, async (trx) => ({
      sessions: (await endLiveSessions(trx, (query) => query.whereIn('user_id', userIds), 'admin', now, events)).length,
      tokens: await trx('api_tokens').whereIn('user_id', userIds).whereNull('revoked_at').update({ revoked_at: now }),
      // Their browsers are forgotten too: the next login from any of them asks the phone again.
      devices: await trx('known_devices').whereIn('user_id', userIds).delete(),
    }));
  }

  /** The newest logins, of everyone or of the given users. */
  async function listRecentLogins(limit: number, userIds?: number[]): Promise<AdminLoginRow[]> {
    const query = knex('user_sessions as login')
      .join('users', 'users.id', 'login.user_id')
      .select('login.created_at', 'login.user_id', 'login.method', 'login.ip', 'login.user_agent', 'users.phone as phone')
      .orderBy([{ column: 'login.created_at', order: 'desc' }, { column: 'login.id', order: 'desc' }])
      .limit(limit);
    if (userIds) query.whereIn('login.user_id', userIds);
    const rows = await query;
    return rows.map((row) => ({
      at: toDate(row.created_at),
      userId: Number(row.user_id),
      phone: (row.phone as string | null) ?? null,
      method: String(row.method),
      ip: String(row.ip),
      userAgent: String(row.user_agent),
    }));
  }

  /** Makes the users admins of the operator console (or not); returns how many changed. */
  async function setAdmin(userIds: number[], admin: boolean, now: Date): Promise<number> {
    return knex('users').whereIn('id', userIds).andWhere('is_admin', !admin).update({ is_admin: admin, updated_at: now });
  }

  /** One line in the admin log for a command-line action on `userIds` (the console writes its own). */
  async function logAction(action: string, userIds: number[], actor: string, detail: string, now: Date): Promise<void> {
    if (userIds.length === 0) return;
    await knex('admin_actions').insert(
      userIds.map((userId) => ({ admin_user_id: null, actor: actor.slice(0, 64), action, target_user_id: userId, detail: detail.slice(0, 255), ip: '', created_at: now })),
    );
  }

  return { findUsers, unbindPhone, endSessions, listRecentLogins, setAdmin, logAction };
}

export type AdminQueries = ReturnType<typeof createAdminQueries>;

function columnOf(key: UserKey): Record<string, string | number> {
  if ('phone' in key) return { phone: key.phone };
  if ('openid' in key) return { openid: key.openid };
  if ('unionid' in key) return { unionid: key.unionid };
  return { id: key.id };
}

function toAdminUser(row: Record<string, unknown>): AdminUserRow {
  return {
    id: Number(row.id),
    openid: (row.openid as string | null) ?? null,
    miniOpenid: (row.mini_openid as string | null) ?? null,
    unionid: (row.unionid as string | null) ?? null,
    phone: (row.phone as string | null) ?? null,
    subscribed: Boolean(row.subscribed),
    lastLoginTime: toOptionalDate(row.last_login_time),
    createdAt: toDate(row.created_at),
  };
}
