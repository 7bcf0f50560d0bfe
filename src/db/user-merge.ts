import type { Knex } from 'knex';
import { newestLoginOfUser } from './login-history.js';
import { lockedOnMysql } from './transaction.js';
import type { User } from './user-row.js';

/**
 * The tables whose rows belong to a user (every `user_id` foreign key in
 * migrations/). A merge moves them all, so nothing the absorbed user had is lost.
 */
// login_history is the frozen history from before its rows were copied into user_sessions (migrations/20261209000001_…).
const ownedTables = ['user_sessions', 'login_history', 'api_tokens', 'sms_codes'] as const;

/** What the kept row holds after a merge (login/identity/merge-decision.ts decides it). */
export type MergedUser = Pick<
  User,
  'openid' | 'miniOpenid' | 'openOpenid' | 'unionid' | 'phone' | 'nickname' | 'avatarUrl' | 'tmpSceneStr' | 'subscribed' | 'sessionVersion' | 'blockedAt'
>;

/**
 * The writes of a merge, inside `trx`: user `goneId` becomes part of user
 * `keepId`, which takes the values `merged` and every row `goneId` owned
 * (logins, sessions, tokens, SMS codes, known devices); then `goneId` is
 * deleted. Which row is kept and which values win is not decided here.
 */
export async function absorbUser(keepId: number, goneId: number, merged: MergedUser, now: Date, trx: Knex.Transaction): Promise<void> {
  // The unique columns leave the absorbed row first, so that the kept row can take them.
  await trx('users').where({ id: goneId }).update({ openid: null, mini_openid: null, open_openid: null, phone: null, tmp_scene_str: null, updated_at: now });
  await trx('users').where({ id: keepId }).update({
    openid: merged.openid,
    mini_openid: merged.miniOpenid,
    open_openid: merged.openOpenid,
    unionid: merged.unionid,
    phone: merged.phone,
    nickname: merged.nickname,
    avatar_url: merged.avatarUrl,
    tmp_scene_str: merged.tmpSceneStr,
    subscribed: merged.subscribed,
    session_version: merged.sessionVersion,
    blocked_at: merged.blockedAt,
    updated_at: now,
  });
  for (const table of ownedTables) await trx(table).where({ user_id: goneId }).update({ user_id: keepId });
  // A mini-program code the absorbed user scanned is the kept user's to confirm and log in with.
  await trx('login_scenes').where({ scanner_user_id: goneId }).update({ scanner_user_id: keepId });
  // known_devices is unique per (user, device): a device both knew stays once.
  // (Read first: MySQL refuses a DELETE whose subquery reads the same table. The read is locked so
  // that a device the kept user remembers meanwhile waits for the merge instead of colliding with the move.)
  const keptRows = await lockedOnMysql(trx('known_devices').where({ user_id: keepId }).select('device_hash'), trx);
  const keptDevices = keptRows.map((row: { device_hash: string }) => row.device_hash);
  if (keptDevices.length > 0) await trx('known_devices').where({ user_id: goneId }).whereIn('device_hash', keptDevices).delete();
  await trx('known_devices').where({ user_id: goneId }).update({ user_id: keepId });
  await trx('users').where({ id: goneId }).delete();
  // The kept user's last login is now the newest of both users' logins.
  await trx('users').where({ id: keepId }).update({ last_login_time: newestLoginOfUser(trx) });
}
