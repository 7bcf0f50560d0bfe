import { noSessionReason } from './login-history.js';
import type { Knex } from 'knex';
import { type EventLog, noEventLog } from './event-log.js';
import { endLiveSessions } from './session-endings.js';
import { inTransaction } from './transaction.js';
import { toUser, type User } from './user-row.js';
import { toDate, toOptionalDate } from './values.js';

/** A count in one time bucket (the bucket's start, epoch ms) for one series (a login method, an SMS outcome). */
export interface BucketCount {
  bucketMs: number;
  series: string;
  count: number;
}

export interface Funnel {
  shown: number;
  scanned: number;
  confirmed: number;
  loggedIn: number;
}

/** China Standard Time is UTC+8 all year: the console's days begin at its midnight. */
export const chinaOffsetMs = 8 * 60 * 60 * 1000;

export type ConsoleAction = 'end-sessions' | 'unbind-phone' | 'block' | 'unblock';

/** Who did an admin action, from where: the log's line. */
export interface ActionContext {
  adminUserId: number;
  ip: string;
  now: Date;
}

/**
 * The operator console's reads (counts by time for the dashboard, the user
 * search and a user's page) and writes (its actions, each with its line in
 * admin_actions, in one transaction).
 */
export function createConsoleQueries(knex: Knex, events: EventLog = noEventLog) {
  const mysql = knex.client.config.client === 'mysql2';
  /**
   * The start (epoch ms) of the `sizeMs` bucket a DATETIME column falls in, in SQL (SQLite stores epoch ms,
   * MySQL a DATETIME), with buckets starting at midnight China time (UTC+8, no daylight saving).
   */
  const bucketOf = (column: string, sizeMs: number) => {
    const ms = mysql ? `UNIX_TIMESTAMP(${column}) * 1000` : `CAST(${column} AS INTEGER)`;
    return knex.raw(`FLOOR((${ms} + ${chinaOffsetMs}) / ${sizeMs}) * ${sizeMs} - ${chinaOffsetMs}`);
  };

  async function countByBucket(table: string, series: string, since: Date, sizeMs: number): Promise<BucketCount[]> {
    const rows = (await knex(table)
      .where('created_at', '>=', since)
      .select({ bucket: bucketOf('created_at', sizeMs), series })
      .count({ count: '*' })
      .groupBy('bucket', series)) as Record<string, unknown>[];
    return rows.map((row) => ({ bucketMs: Number(row.bucket), series: String(row.series), count: Number(row.count) }));
  }

  /** Completed logins by method, per bucket of `sizeMs`, since `since`. */
  const loginsByTime = (since: Date, sizeMs: number) => countByBucket('user_sessions', 'method', since, sizeMs);

  /** SMS sent (codes handed to the provider) and refused (by reason), per day. */
  async function smsByTime(since: Date, sizeMs: number): Promise<BucketCount[]> {
    const sent = await knex('sms_codes')
      .where('created_at', '>=', since)
      .select({ bucket: bucketOf('created_at', sizeMs) })
      .count({ count: '*' })
      .groupBy('bucket');
    const refused = await countByBucket('sms_refusals', 'reason', since, sizeMs);
    return [
      ...(sent as Record<string, unknown>[]).map((row) => ({ bucketMs: Number(row.bucket), series: 'sent', count: Number(row.count) })),
      ...refused.map((row) => ({ ...row, series: `refused: ${row.series}` })),
    ];
  }

  /** The login funnel of the codes shown since `sinceMs`: shown, scanned, approved (at once or confirmed), logged in. */
  async function funnel(sinceMs: number): Promise<Funnel> {
    // Logged in: a login's row names the scene (db/login-scenes.ts), or, before that was so, the state says it.
    const row = (await knex('login_scenes as s')
      .leftJoin('user_sessions as login', 'login.scene', 's.scene')
      .where('s.created_at_ms', '>=', sinceMs)
      .first(
        knex.raw('COUNT(*) AS shown'),
        knex.raw('SUM(CASE WHEN s.scanner_openid IS NOT NULL OR s.scanner_user_id IS NOT NULL THEN 1 ELSE 0 END) AS scanned'),
        knex.raw("SUM(CASE WHEN s.state IN ('approved', 'used') THEN 1 ELSE 0 END) AS confirmed"),
        knex.raw("SUM(CASE WHEN s.state = 'used' OR login.id IS NOT NULL THEN 1 ELSE 0 END) AS logged_in"),
      )) as Record<string, unknown> | undefined;
    return { shown: Number(row?.shown ?? 0), scanned: Number(row?.scanned ?? 0), confirmed: Number(row?.confirmed ?? 0), loggedIn: Number(row?.logged_in ?? 0) };
  }

  /** Confirmations on the phone since `sinceMs`, by outcome: approved, denied, and asked but never answered before the code expired. */
  async function confirmations(sinceMs: number, nowMs: number): Promise<Record<'approved' | 'denied' | 'unanswered', number>> {
    const row = (await knex('login_scenes')
      .where('created_at_ms', '>=', sinceMs)
      .first(
        knex.raw("SUM(CASE WHEN confirmed_at_ms IS NOT NULL THEN 1 ELSE 0 END) AS approved"),
        knex.raw("SUM(CASE WHEN state = 'denied' THEN 1 ELSE 0 END) AS denied"),
        knex.raw(`SUM(CASE WHEN state = 'awaiting' AND expires_at_ms <= ${Math.floor(nowMs)} THEN 1 ELSE 0 END) AS unanswered`),
      )) as Record<string, unknown> | undefined;
    return { approved: Number(row?.approved ?? 0), denied: Number(row?.denied ?? 0), unanswered: Number(row?.unanswered ?? 0) };
  }

  /**
   * Users matching what an operator typed: an id, a phone, or an openid
   * (of any app) or unionid, exactly. At most 50.
   */
  async function searchUsers(text: string): Promise<User[]> {
    const query = text.trim();
    if (!query || query.length > 128) return [];
    const rows = await knex('users')
      .where((match) => {
        if (/^\d{1,12}$/.test(query)) match.orWhere('id', Number(query));
        const phone = query.replace(/[\s-]/g, '').replace(/^\+?86/, '');
        if (/^1\d{10}$/.test(phone)) match.orWhere('phone', phone);
        for (const column of ['openid', 'mini_openid', 'open_openid', 'unionid']) match.orWhere(column, query);
      })
      .orderBy('id')
      .limit(50);
    return rows.map((row) => toUser(row)!);
  }

  async function findUser(id: number): Promise<User | undefined> {
    return toUser(await knex('users').where({ id }).first());
  }

  /** What a user's page shows: logins, sessions (newest first), known browsers, OIDC grants and webhooks sent. */
  async function userActivity(userId: number, limit = 30) {
    const logins = await knex('user_sessions').where({ user_id: userId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit);
    // Logins without a session (the mini-program's) are in the history only.
    const sessions = await knex('user_sessions').where({ user_id: userId }).andWhere((query) => query.whereNull('end_reason').orWhereNot('end_reason', noSessionReason)).orderBy('id', 'desc').limit(limit);
    const devices = await knex('known_devices').where({ user_id: userId }).orderBy('last_seen_at_ms', 'desc').limit(limit);
    const grantIds = await knex('oidc_grant_sessions as g')
      .join('user_sessions as s', 's.id', 'g.user_session_id')
      .where('s.user_id', userId)
      .orderBy('s.id', 'desc')
      .limit(limit)
      .select('g.grant_id', 's.id as session_id', 's.revoked_at');
    const grantRows = grantIds.length === 0 ? [] : await knex('oidc_payloads').where('kind', 'Grant').whereIn('id', grantIds.map((row) => row.grant_id)).select('id', 'payload');
    const clientOf = new Map(grantRows.map((row) => [String(row.id), String((JSON.parse(String(row.payload)) as { clientId?: string }).clientId ?? '')]));
    const webhooks = await knex('outbox').where({ channel: 'webhook', ordering_key: String(userId) }).orderBy('id', 'desc').limit(limit);
    return {
      logins: logins.map((row) => ({ at: toDate(row.created_at), method: String(row.method), ip: String(row.ip), userAgent: String(row.user_agent) })),
      sessions: sessions.map((row) => ({
        id: Number(row.id),
        ip: String(row.ip),
        userAgent: String(row.user_agent),
        createdAt: toDate(row.created_at),
        lastSeenAt: toDate(row.last_seen_at),
        endedAt: toOptionalDate(row.revoked_at),
        endReason: (row.end_reason as string | null) ?? null,
      })),
      devices: devices.map((row) => ({ firstSeenAt: new Date(Number(row.first_seen_at_ms)), lastSeenAt: new Date(Number(row.last_seen_at_ms)) })),
      grants: grantIds.map((row) => ({ clientId: clientOf.get(String(row.grant_id)) ?? '', sessionId: Number(row.session_id), live: row.revoked_at === null && clientOf.has(String(row.grant_id)) })),
      webhooks: webhooks.map((row) => ({
        type: String((JSON.parse(String(row.payload)) as { type?: string }).type ?? ''),
        state: String(row.state),
        attempts: Number(row.attempts),
        at: new Date(Number(row.created_at_ms)),
      })),
    };
  }

  /**
   * One admin action on `userId`, with its line in the log, in one
   * transaction. Ending sessions tells applications and webhooks like any
   * other end (db/session-endings.ts). False when the action had nothing to do.
   */
  async function act(action: ConsoleAction, userId: number, who: ActionContext): Promise<boolean> {
    return inTransaction(knex, async (trx) => {
      const user = toUser(await trx('users').where({ id: userId }).first());
      if (!user) return false;
      let detail = '';
      if (action === 'unbind-phone') {
        if (!user.phone) return false;
        detail = user.phone;
        await trx('users').where({ id: userId }).update({ phone: null, session_version: knex.raw('session_version + 1'), updated_at: who.now });
      }
      if (action === 'block') {
        if (user.blockedAt) return false;
        await trx('users').where({ id: userId }).update({ blocked_at: who.now, updated_at: who.now });
      }
      if (action === 'unblock') {
        if (!user.blockedAt) return false;
        await trx('users').where({ id: userId }).update({ blocked_at: null, updated_at: who.now });
      }
      if (action !== 'unblock') {
        // Every action but unblocking signs the user out everywhere: a user without a phone, or blocked, is signed in nowhere.
        const ended = await endLiveSessions(trx, (query) => query.where({ user_id: userId }), 'admin', who.now, events);
        await trx('api_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: who.now });
        await trx('known_devices').where({ user_id: userId }).delete();
        if (action === 'end-sessions') detail = `${ended.length} session(s)`;
      }
      await trx('admin_actions').insert({ admin_user_id: who.adminUserId, action, target_user_id: userId, detail, ip: who.ip.slice(0, 64), created_at: who.now });
      return true;
    });
  }

  /** The newest admin actions, with the admin's and the target's ids. */
  async function listActions(limit = 100, targetUserId?: number) {
    const query = knex('admin_actions').orderBy('id', 'desc').limit(limit);
    if (targetUserId !== undefined) query.where({ target_user_id: targetUserId });
    return (await query).map((row) => ({
      id: Number(row.id),
      adminUserId: row.admin_user_id === null ? null : Number(row.admin_user_id),
      actor: String(row.actor ?? ''),
      action: String(row.action),
      targetUserId: row.target_user_id === null ? null : Number(row.target_user_id),
      detail: String(row.detail),
      ip: String(row.ip),
      at: toDate(row.created_at),
    }));
  }

  return { loginsByTime, smsByTime, funnel, confirmations, searchUsers, findUser, userActivity, act, listActions };
}

export type ConsoleQueries = ReturnType<typeof createConsoleQueries>;
