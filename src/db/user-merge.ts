import type { Knex } from 'knex';

/**
 * The tables whose rows belong to a user (every `user_id` foreign key in
 * migrations/). A merge moves them all, so nothing the absorbed user had is lost.
 */
const ownedTables = ['login_history', 'user_sessions', 'api_tokens', 'sms_codes'] as const;

/** Two rows that may be one person (same unionid) but cannot be joined without dropping something. */
export type MergeRefusal = 'phone_conflict' | 'openid_conflict';

/**
 * Joins two user rows of one person into `keep` (the older row), inside
 * `trx`: the Official Account openid of one and the mini-program openid of
 * the other, the phone, the profile, and every row they own (logins,
 * sessions, tokens, known devices). The other row is then deleted.
 *
 * Refused, changing nothing, when the rows disagree: two different phones,
 * or two different openids for the same app. Such a pair needs a person to
 * decide (npm run admin -- find-user --unionid ... lists both).
 */
export async function mergeUsers(trx: Knex.Transaction, firstId: number, secondId: number, now: Date): Promise<MergeRefusal | undefined> {
  const query = trx('users').whereIn('id', [firstId, secondId]).orderBy('id');
  // Both rows stay locked until the merge commits (SQLite serializes writers anyway and has no FOR UPDATE).
  const rows = trx.client.config.client === 'mysql2' ? await query.forUpdate() : await query;
  if (rows.length !== 2) return undefined;
  const [keep, gone] = rows as Record<string, unknown>[];
  const either = (column: string) => keep[column] ?? gone[column] ?? null;
  const clash = (column: string) => keep[column] != null && gone[column] != null && keep[column] !== gone[column];
  if (clash('phone')) return 'phone_conflict';
  if (clash('openid') || clash('mini_openid')) return 'openid_conflict';

  // The unique columns leave the absorbed row first, so that the kept row can take them.
  await trx('users').where({ id: gone.id }).update({ openid: null, mini_openid: null, phone: null, tmp_scene_str: null, updated_at: now });
  const newest = (column: string) => {
    const times = [keep[column], gone[column]].filter((value) => value != null).map((value) => new Date(value as string | Date));
    return times.length ? new Date(Math.max(...times.map((time) => time.getTime()))) : null;
  };
  await trx('users')
    .where({ id: keep.id })
    .update({
      openid: either('openid'),
      mini_openid: either('mini_openid'),
      unionid: either('unionid'),
      phone: either('phone'),
      nickname: either('nickname'),
      avatar_url: either('avatar_url'),
      tmp_scene_str: keep.openid != null ? keep.tmp_scene_str ?? null : either('tmp_scene_str'),
      last_login_time: newest('last_login_time'),
      // Following is a fact about the Official Account openid, which only one of them has.
      subscribed: keep.openid != null ? keep.subscribed : gone.subscribed,
      session_version: Math.max(Number(keep.session_version), Number(gone.session_version)),
      updated_at: now,
    });
  for (const table of ownedTables) await trx(table).where({ user_id: gone.id }).update({ user_id: keep.id });
  // known_devices is unique per (user, device): a device both knew stays once.
  // (Read first: MySQL refuses a DELETE whose subquery reads the same table.)
  const keptDevices = await trx('known_devices').where({ user_id: keep.id }).pluck('device_hash');
  if (keptDevices.length > 0) await trx('known_devices').where({ user_id: gone.id }).whereIn('device_hash', keptDevices).delete();
  await trx('known_devices').where({ user_id: gone.id }).update({ user_id: keep.id });
  await trx('users').where({ id: gone.id }).delete();
  return undefined;
}
