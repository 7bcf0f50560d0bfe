import type { Knex } from 'knex';
import { newestLoginOfUser } from './login-history.js';
import { createdUserData, type EventLog, noEventLog, withEventTransaction } from './event-log.js';
import { lockedOnMysql } from './transaction.js';
import { absorbUser } from './user-merge.js';
import { isUniqueViolation } from './values.js';
import { toUser, type User } from './user-row.js';

export { toUser, type User };


/** The column of each app's openid: the Official Account's, or the mini-program's. */
export type AppOpenidColumn = 'openid' | 'mini_openid' | 'open_openid';

export type RecordScanResult = { outcome: 'recorded'; hasPhone: boolean } | { outcome: 'scene_taken' };

/** What the identity columns hold (migrations/20261121000001_create_users.ts). */
export const userColumnLengths = { openid: 64, mini_openid: 64, open_openid: 64, unionid: 64 } as const;

/** A value from WeChat longer than its column: refused rather than cut (a cut openid could be someone else's). */
export class ValueTooLongError extends Error {
  constructor(readonly column: string) {
    super(`${column} is longer than ${userColumnLengths[column as keyof typeof userColumnLengths]} characters`);
    this.name = 'ValueTooLongError';
  }
}

function assertFits(column: keyof typeof userColumnLengths, value: string): void {
  if (value.length > userColumnLengths[column]) throw new ValueTooLongError(column);
}

export class PhoneTakenError extends Error {
  constructor() {
    super('phone already bound to another user');
    this.name = 'PhoneTakenError';
  }
}

/**
 * Data access for `users`: one statement each (or one plain data operation,
 * as `absorbUser`). What they mean for a login is decided in login/
 * (user-identity.ts, scan-recording.ts); a write that must be all-or-nothing
 * takes the caller's transaction.
 */
export function createUserQueries(knex: Knex, events: EventLog = noEventLog) {
  const table = (trx: Knex | Knex.Transaction = knex) => trx<Record<string, unknown>>('users');

  async function findUserById(id: number, trx?: Knex.Transaction): Promise<User | undefined> {
    return toUser(await table(trx).where({ id }).first());
  }

  async function findUserByOpenid(openid: string, trx?: Knex.Transaction): Promise<User | undefined> {
    return toUser(await table(trx).where({ openid }).first());
  }

  /** The users with these ids, by id: one query for the mini-program scanners of many polled scenes. */
  async function findUsersByIds(ids: number[]): Promise<Map<number, User>> {
    const rows = await table().whereIn('id', ids);
    return new Map(rows.map((row) => [Number(row.id), toUser(row)!]));
  }

  /** The users with these openids, by openid: one query for the scanners of many polled scenes. */
  async function findUsersByOpenids(openids: string[]): Promise<Map<string, User>> {
    const rows = await table().whereIn('openid', openids);
    return new Map(rows.map((row) => [String(row.openid), toUser(row)!]));
  }

  async function findUserByPhone(phone: string): Promise<User | undefined> {
    return toUser(await table().where({ phone }).first());
  }

  /** The user with this openid of `app` (the Official Account's `openid` or the mini-program's `mini_openid`). */
  async function findUserByAppOpenid(app: AppOpenidColumn, value: string, trx?: Knex.Transaction): Promise<User | undefined> {
    return toUser(await table(trx).where({ [app]: value }).first());
  }

  /** The user with this unionid who has no openid of `app` yet (someone known only through the other app). */
  async function findUserByUnionidWithout(app: AppOpenidColumn, unionid: string, trx?: Knex.Transaction): Promise<User | undefined> {
    return toUser(await table(trx).where({ unionid }).whereNull(app).first());
  }

  /** A user other than `userId` with this unionid. */
  async function findOtherUserByUnionid(unionid: string, userId: number, trx?: Knex.Transaction): Promise<User | undefined> {
    return toUser(await table(trx).where({ unionid }).whereNot({ id: userId }).first());
  }

  /**
   * SELECT of the user with this openid of `app`, locked (FOR UPDATE on
   * MySQL) until `trx` ends. A locking read sees the latest committed row,
   * where InnoDB's plain SELECT sees the transaction's snapshot: after an
   * INSERT refused because a parallel transaction inserted the same openid,
   * only this finds that user.
   */
  async function findUserByAppOpenidForUpdate(app: AppOpenidColumn, value: string, trx: Knex.Transaction): Promise<User | undefined> {
    return toUser(await lockedOnMysql(table(trx).where({ [app]: value }), trx).first());
  }

  /**
   * SELECT of these users, locked (FOR UPDATE on MySQL) until `trx` ends, by
   * id. SQLite serialises writers anyway and has no FOR UPDATE.
   */
  async function findUsersForUpdate(ids: number[], trx: Knex.Transaction): Promise<User[]> {
    const rows = await lockedOnMysql(table(trx).whereIn('id', ids).orderBy('id'), trx);
    return rows.map((row: Record<string, unknown>) => toUser(row)!);
  }

  /**
   * One INSERT of a new user known by this openid of `app`, with the unionid
   * when it is known. `duplicate` when the unique index refuses it (a user
   * with this openid exists).
   */
  async function insertAppUser(
    app: AppOpenidColumn,
    value: string,
    unionid: string | undefined,
    now: Date,
    trx?: Knex.Transaction,
  ): Promise<'inserted' | 'duplicate'> {
    assertFits(app, value);
    if (unionid) assertFits('unionid', unionid);
    try {
      return await withEventTransaction(knex, trx, events.wants('user.created'), async (run) => {
        // A plain INSERT, never INSERT IGNORE: IGNORE would also turn a too-long value into a silent cut.
        const [id] = await table(run).insert({ [app]: value, unionid: unionid ?? null, subscribed: false, session_version: 0, created_at: now, updated_at: now });
        if (events.wants('user.created')) await events.record(run, 'user.created', createdUserData(Number(id), app, value, unionid), now);
        return 'inserted' as const;
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'duplicate';
      throw error;
    }
  }

  /** UPDATE of the openid of `app` of this user. */
  async function setAppOpenid(userId: number, app: AppOpenidColumn, value: string, now: Date, trx?: Knex.Transaction): Promise<void> {
    assertFits(app, value);
    await table(trx).where({ id: userId }).update({ [app]: value, updated_at: now });
  }

  /** UPDATE of the unionid of this user. */
  async function setUnionid(userId: number, unionid: string, now: Date, trx?: Knex.Transaction): Promise<void> {
    assertFits('unionid', unionid);
    await table(trx).where({ id: userId }).update({ unionid, updated_at: now });
  }

  /** UPDATE of the user's unionid back to NULL (the newer of two rows that cannot be merged gives it up). */
  async function clearUnionid(userId: number, now: Date, trx?: Knex.Transaction): Promise<void> {
    await table(trx).where({ id: userId }).update({ unionid: null, updated_at: now });
  }

  /** UPDATE of the user with this openid: they follow the Official Account. */
  async function setSubscribed(openid: string, now: Date, trx?: Knex.Transaction): Promise<void> {
    await table(trx).where({ openid }).update({ subscribed: true, updated_at: now });
  }

  /**
   * UPDATE of the nickname and avatar of the user with this openid of `app`
   * (a missing one is emptied). Cut to their columns: unlike an openid, a
   * display name cut short names no one else.
   */
  async function setProfile(
    openid: string,
    profile: { nickname?: string; avatarUrl?: string },
    now: Date,
    trx?: Knex.Transaction,
    app: AppOpenidColumn = 'openid',
  ): Promise<void> {
    await table(trx)
      .where({ [app]: openid })
      .update({ nickname: profile.nickname?.slice(0, 64) ?? null, avatar_url: profile.avatarUrl?.slice(0, 512) ?? null, updated_at: now });
  }

  /**
   * UPDATE of the user with this openid: the scene of their latest scan and
   * that they follow the account, atomically (last_login_time waits for a
   * completed login); first for a user with
   * a phone, then for one without (so the answer says which). Undefined when
   * no user has this openid. The unique index on tmp_scene_str refuses a
   * scene held by another user (`scene_taken`).
   */
  async function updateScan(openid: string, scene: string, now: Date): Promise<RecordScanResult | undefined> {
    const changes = { tmp_scene_str: scene, subscribed: true, updated_at: now };
    try {
      if ((await table().where({ openid }).whereNotNull('phone').update(changes)) > 0) return { outcome: 'recorded', hasPhone: true };
      if ((await table().where({ openid }).whereNull('phone').update(changes)) > 0) return { outcome: 'recorded', hasPhone: false };
      return undefined;
    } catch (error) {
      if (isUniqueViolation(error)) return { outcome: 'scene_taken' };
      throw error;
    }
  }

  /**
   * One INSERT of a new user who has just scanned `scene`: no phone,
   * following the account, with the unionid when it is known. `duplicate`
   * when the unique indexes refuse it: a user with this openid exists, or
   * another user holds the scene.
   */
  async function insertScanningUser(openid: string, scene: string, now: Date, unionid?: string): Promise<'inserted' | 'duplicate'> {
    assertFits('openid', openid);
    if (unionid) assertFits('unionid', unionid);
    try {
      return await withEventTransaction(knex, undefined, events.wants('user.created'), async (run) => {
        // A plain INSERT, never INSERT IGNORE or an upsert: ON DUPLICATE KEY UPDATE would update whichever
        // row the conflict names, the holder of the scene included.
        const [id] = await table(run).insert({
          openid,
          unionid: unionid ?? null,
          tmp_scene_str: scene,
          subscribed: true,
          session_version: 0,
          created_at: now,
          updated_at: now,
        });
        if (events.wants('user.created')) await events.record(run, 'user.created', createdUserData(Number(id), 'openid', openid, unionid), now);
        return 'inserted' as const;
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'duplicate';
      throw error;
    }
  }

  /**
   * The scan of someone known only through the other app (the mini-program):
   * the user with this unionid and no openid gets the openid and the scan, in
   * one guarded UPDATE (after one SELECT that says whether they have a phone).
   * Undefined when there is no such user, or another delivery linked them first.
   */
  async function linkScanToUnionid(openid: string, unionid: string, scene: string, now: Date): Promise<RecordScanResult | undefined> {
    const known = await table().where({ unionid }).whereNull('openid').first('id', 'phone');
    if (!known) return undefined;
    try {
      const changed = await table()
        .where({ id: known.id })
        .whereNull('openid')
        .update({ openid, tmp_scene_str: scene, subscribed: true, updated_at: now });
      return changed > 0 ? { outcome: 'recorded', hasPhone: known.phone !== null } : undefined;
    } catch (error) {
      // The openid is on another row already (a parallel delivery created it), or the scene is another user's.
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /**
   * Stores unionids (by openid) on the users that have none yet, in one
   * UPDATE (a CASE on the openid); a unionid already there is never replaced.
   * A unionid too long for its column is left out; the count of rows set is returned.
   */
  async function setUnionidsIfMissing(unionids: Map<string, string>, now: Date): Promise<number> {
    const fitting = [...unionids].filter(([, unionid]) => unionid.length <= userColumnLengths.unionid);
    if (fitting.length === 0) return 0;
    const cases = fitting.map(() => 'WHEN ? THEN ?').join(' ');
    return table()
      .whereIn('openid', fitting.map(([openid]) => openid))
      .whereNull('unionid')
      .update({ unionid: knex.raw(`CASE openid ${cases} END`, fitting.flat()), updated_at: now });
  }


  /**
   * Marks the user unsubscribed, clears the phone and raises the session
   * version (which ends pending bindings). What unfollowing means is the
   * login service's decision; this is only the write.
   */
  async function recordUnfollow(userId: number, now: Date, trx?: Knex.Transaction): Promise<void> {
    await withEventTransaction(knex, trx, events.wants('user.unfollowed'), async (run) => {
      await table(run)
        .where({ id: userId })
        .update({
          phone: null,
          subscribed: false,
          session_version: knex.raw('session_version + 1'),
          updated_at: now,
        });
      if (!events.wants('user.unfollowed')) return;
      const user = await table(run).where({ id: userId }).first('openid', 'unionid');
      await events.record(run, 'user.unfollowed', { userId, openid: user?.openid ?? null, unionid: user?.unionid ?? null }, now);
    });
  }

  /**
   * Binds `phone` to a user who has no phone yet (or has this one already),
   * and, when `version` is given, only while the session version still
   * matches. False when the user no longer qualifies; PhoneTakenError when
   * another user holds the number (the unique index decides races).
   */
  async function bindPhoneIfEmpty(
    userId: number,
    phone: string,
    version: number | undefined,
    now: Date,
    trx?: Knex.Transaction,
  ): Promise<boolean> {
    const wanted = events.wants('user.phone_bound');
    try {
      return await withEventTransaction(knex, trx, wanted, async (run) => {
        // Told once: when the phone is new to the user, not when the same number is bound again.
        const before = wanted ? await lockedOnMysql(table(run).where({ id: userId }).first('phone', 'openid'), run as Knex.Transaction) : undefined;
        const query = table(run)
          .where({ id: userId })
          .andWhere((where) => where.whereNull('phone').orWhere({ phone }));
        if (version !== undefined) query.andWhere({ session_version: version });
        const bound = (await query.update({ phone, updated_at: now })) === 1;
        if (bound && before && before.phone === null) await events.record(run, 'user.phone_bound', { userId, openid: before.openid ?? null, phone }, now);
        return bound;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new PhoneTakenError();
      throw error;
    }
  }

  /**
   * users.last_login_time (CONTRACT.md) of these users, from their newest login row, in one statement:
   * written after the logins' answers (session/login-record.ts); the server itself reads the rows.
   */
  async function setLastLoginFromHistory(userIds: number[]): Promise<void> {
    await table().whereIn('id', userIds).update({ last_login_time: newestLoginOfUser(knex), updated_at: new Date() });
  }

  return {
    findUserById,
    findUserByOpenid,
    findUsersByOpenids,
    findUsersByIds,
    findUserByPhone,
    updateScan,
    insertScanningUser,
    linkScanToUnionid,
    setUnionidsIfMissing,
    findUserByAppOpenid,
    findUserByAppOpenidForUpdate,
    findUserByUnionidWithout,
    findOtherUserByUnionid,
    findUsersForUpdate,
    insertAppUser,
    setAppOpenid,
    setUnionid,
    clearUnionid,
    setSubscribed,
    setProfile,
    absorbUser,
    recordUnfollow,
    bindPhoneIfEmpty,
    setLastLoginFromHistory,
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;
