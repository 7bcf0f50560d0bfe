import type { Knex } from 'knex';
import { type EventLog, noEventLog } from './event-log.js';
import { enqueueOutbox, type NewOutboxMessage } from './outbox.js';
import { lockedOnMysql } from './transaction.js';

/**
 * Why a session ended, kept in `user_sessions.end_reason`: `logout` (this
 * browser's own logout), `revoked` (from another device's profile), `end-link`
 * (the "end this login" link of the WeChat notice), `unfollow`, `admin` (the
 * operator's tool), `expired` (idle or past its lifetime, found by the sweep). The same words as the `session.ended` webhook's.
 */
export type SessionEndReason = 'logout' | 'revoked' | 'end-link' | 'unfollow' | 'admin' | 'expired';
export const sessionEndReasons: readonly SessionEndReason[] = ['logout', 'revoked', 'end-link', 'unfollow', 'admin', 'expired'];

/** The outbox channel of OpenID Connect back-channel logout: one logout token per application session. */
export const backchannelLogoutChannel = 'backchannel-logout';

/** What a logout token says (oidc/backchannel-logout.ts signs and sends it). */
export interface LogoutTokenPayload {
  sub: string;
  sid: string;
  reason: SessionEndReason;
}

/** A session that `endLiveSessions` ended. */
export interface EndedSessionRow {
  id: number;
  userId: number;
  deviceHash: string | null;
}

/**
 * The one way a session of ours ends, whatever ends it (logout, another
 * device, the notice's link, unfollow, the operator, expiry): inside `trx`,
 * the live sessions that `pick` selects are marked ended with `reason`, and
 * every application that logged in under one of them (a grant with a
 * back-channel logout URI, oidc_grant_sessions) gets a logout token in the
 * outbox, written in the same transaction. Returns the sessions it ended:
 * of two requests ending the same session, one ends it and tells.
 */
export async function endLiveSessions(
  trx: Knex.Transaction,
  pick: (query: Knex.QueryBuilder) => Knex.QueryBuilder,
  reason: SessionEndReason,
  now: Date,
  events: EventLog = noEventLog,
): Promise<EndedSessionRow[]> {
  const rows = await lockedOnMysql(pick(trx('user_sessions').whereNull('revoked_at')).select('id', 'user_id', 'device_hash'), trx);
  if (rows.length === 0) return [];
  const ids = rows.map((row: { id: number }) => Number(row.id));
  // Locked (MySQL) or serialised (SQLite, one writer): nobody ends them between the read and this write.
  await trx('user_sessions').whereIn('id', ids).update({ revoked_at: now, end_reason: reason });
  const grants = await trx('oidc_grant_sessions')
    .whereIn('user_session_id', ids)
    .whereNotNull('logout_sid')
    .distinct('client_id', 'account_id', 'logout_sid');
  const logouts: NewOutboxMessage[] = grants.map((grant: { client_id: string; account_id: string; logout_sid: string }) => ({
    channel: backchannelLogoutChannel,
    target: grant.client_id,
    // Each application session's token stands alone: one the application refuses never holds back another's.
    orderingKey: grant.logout_sid,
    payload: { sub: grant.account_id, sid: grant.logout_sid, reason } satisfies LogoutTokenPayload,
  }));
  await enqueueOutbox(trx, logouts, now.getTime());
  if (events.wants('session.ended')) {
    const userIds = [...new Set(rows.map((row: { user_id: number }) => Number(row.user_id)))] as number[];
    const users = (await trx('users').whereIn('id', userIds).select('id', 'openid')) as { id: number; openid: string | null }[];
    const openids = new Map(users.map((user) => [Number(user.id), user.openid]));
    const ended = (rows as { id: number; user_id: number }[]).map((row) => ({ userId: Number(row.user_id), openid: openids.get(Number(row.user_id)) ?? null, sessionId: Number(row.id), reason }));
    await events.recordAll(trx, 'session.ended', ended, now);
  }
  return rows.map((row: { id: number; user_id: number; device_hash: string | null }) => ({
    id: Number(row.id),
    userId: Number(row.user_id),
    deviceHash: row.device_hash ?? null,
  }));
}
