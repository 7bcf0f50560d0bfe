import { inTransaction } from './transaction.js';
import type { Knex } from 'knex';
import { mergeUsers } from './user-merge.js';
import { isUniqueViolation, toOptionalDate, toDate } from './values.js';

export interface User {
  id: number;
  /** The Official Account's openid; null for someone who has only used the mini-program. */
  openid: string | null;
  miniOpenid: string | null;
  unionid: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  phone: string | null;
  tmpSceneStr: string | null;
  lastLoginTime: Date | null;
  subscribed: boolean;
  sessionVersion: number;
  createdAt: Date;
}

export interface WechatProfile {
  unionid?: string;
  nickname?: string;
  avatarUrl?: string;
}

type AppOpenidColumn = 'openid' | 'mini_openid';

export type RecordScanResult = { outcome: 'recorded'; hasPhone: boolean } | { outcome: 'scene_taken' };

/** What the identity columns hold (migrations/20261121000001_create_users.ts). */
export const userColumnLengths = { openid: 64, mini_openid: 64, unionid: 64 } as const;

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

/** Data access for `users`. Every write that must be all-or-nothing runs in a transaction here. */
export function createUserQueries(knex: Knex) {
  const table = (trx: Knex | Knex.Transaction = knex) => trx<Record<string, unknown>>('users');

  async function findUserById(id: number, trx?: Knex.Transaction): Promise<User | undefined> {
    return toUser(await table(trx).where({ id }).first());
  }

  async function findUserByOpenid(openid: string, trx?: Knex.Transaction): Promise<User | undefined> {
    return toUser(await table(trx).where({ openid }).first());
  }

  /** The users whose latest scan is one of `scenes`, by scene: one query for many polls. */
  async function findUsersByScenes(scenes: string[]): Promise<Map<string, User>> {
    const rows = await table().whereIn('tmp_scene_str', scenes);
    return new Map(rows.map((row) => [String(row.tmp_scene_str), toUser(row)!]));
  }

  async function findUserByPhone(phone: string): Promise<User | undefined> {
    return toUser(await table().where({ phone }).first());
  }

  /**
   * Makes sure a user exists for this app's openid. A new openid whose unionid
   * belongs to someone known through the other app joins that user instead of
   * creating a second one. Concurrent calls create one user (the unique index
   * refuses the second insert).
   */
  async function ensureUser(trx: Knex.Transaction, column: AppOpenidColumn, value: string, unionid: string | undefined, now: Date) {
    const existing = await table(trx).where({ [column]: value }).first('id', 'unionid');
    if (existing) {
      if (unionid && !existing.unionid) await learnUnionid(trx, Number(existing.id), unionid, now);
      return;
    }
    if (unionid) {
      const linked = await table(trx).where({ unionid }).whereNull(column).first('id');
      if (linked) {
        await table(trx).where({ id: linked.id }).update({ [column]: value, updated_at: now });
        return;
      }
    }
    assertFits(column, value);
    if (unionid) assertFits('unionid', unionid);
    try {
      // A plain INSERT, never INSERT IGNORE: IGNORE would also turn a too-long value into a silent cut.
      await table(trx).insert({ [column]: value, unionid: unionid ?? null, subscribed: false, session_version: 0, created_at: now, updated_at: now });
    } catch (error) {
      // A concurrent call created the same user first: that is the user we wanted.
      if (!isUniqueViolation(error)) throw error;
    }
  }

  /**
   * A known user's unionid became known (user/info of a follower, an
   * snsapi_userinfo login, the mini-program). When another row already has
   * it, the same person was known twice (one row per app): the rows are
   * merged (db/user-merge.ts). When they cannot be merged safely (two
   * different phones), nothing changes and the unionid stays with the other row.
   */
  async function learnUnionid(trx: Knex.Transaction, userId: number, unionid: string, now: Date): Promise<void> {
    assertFits('unionid', unionid);
    const twin = await table(trx).where({ unionid }).whereNot({ id: userId }).first('id');
    if (!twin) {
      await table(trx).where({ id: userId }).update({ unionid, updated_at: now });
      return;
    }
    await mergeUsers(trx, userId, Number(twin.id), now);
  }

  /**
   * UPDATE of the user with this openid: the scene of their latest scan, the
   * time and that they follow the account, atomically; first for a user with
   * a phone, then for one without (so the answer says which). Undefined when
   * no user has this openid. The unique index on tmp_scene_str refuses a
   * scene held by another user (`scene_taken`).
   */
  async function updateScan(openid: string, scene: string, now: Date): Promise<RecordScanResult | undefined> {
    const changes = { tmp_scene_str: scene, last_login_time: now, subscribed: true, updated_at: now };
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
      // A plain INSERT, never INSERT IGNORE or an upsert: ON DUPLICATE KEY UPDATE would update whichever
      // row the conflict names, the holder of the scene included.
      await table().insert({
        openid,
        unionid: unionid ?? null,
        tmp_scene_str: scene,
        last_login_time: now,
        subscribed: true,
        session_version: 0,
        created_at: now,
        updated_at: now,
      });
      return 'inserted';
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
        .update({ openid, tmp_scene_str: scene, last_login_time: now, subscribed: true, updated_at: now });
      return changed > 0 ? { outcome: 'recorded', hasPhone: known.phone !== null } : undefined;
    } catch (error) {
      // The openid is on another row already (a parallel delivery created it), or the scene is another user's.
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /** UPDATE of the unionid of the user with this openid, only when they have none yet. True when it was set. */
  async function setUnionidIfMissing(openid: string, unionid: string, now: Date): Promise<boolean> {
    assertFits('unionid', unionid);
    return (await table().where({ openid }).whereNull('unionid').update({ unionid, updated_at: now })) > 0;
  }

  /**
   * A scan of a login QR code: find or create the user by openid and record
   * the scene, the time and that they follow the account, in one transaction.
   * A scene already held by another user is refused.
   */
  async function recordScan(openid: string, scene: string, now: Date, unionid?: string): Promise<RecordScanResult> {
    try {
      return await inTransaction(knex, async (trx) => {
        await ensureUser(trx, 'openid', openid, unionid, now);
        const holder = await table(trx).where({ tmp_scene_str: scene }).first('openid');
        if (holder && holder.openid !== openid) return { outcome: 'scene_taken' as const };
        await table(trx)
          .where({ openid })
          .update({ tmp_scene_str: scene, last_login_time: now, subscribed: true, updated_at: now });
        const user = await findUserByOpenid(openid, trx);
        return { outcome: 'recorded' as const, hasPhone: Boolean(user!.phone) };
      });
    } catch (error) {
      // Two different users racing for one scene: the unique index lets one win.
      if (isUniqueViolation(error)) return { outcome: 'scene_taken' };
      throw error;
    }
  }

  /** A plain follow (no scene): create the user if new and mark them subscribed. */
  async function recordFollow(openid: string, now: Date, unionid?: string): Promise<void> {
    await inTransaction(knex, async (trx) => {
      await ensureUser(trx, 'openid', openid, unionid, now);
      await table(trx).where({ openid }).update({ subscribed: true, updated_at: now });
    });
  }

  /** In-WeChat OAuth: find or create the user by openid, keeping the nickname and avatar when given. */
  async function recordOauthUser(openid: string, profile: WechatProfile, now: Date): Promise<User> {
    return inTransaction(knex, async (trx) => {
      await ensureUser(trx, 'openid', openid, profile.unionid, now);
      if (profile.nickname !== undefined || profile.avatarUrl !== undefined) {
        await table(trx)
          .where({ openid })
          .update({ nickname: profile.nickname?.slice(0, 64) ?? null, avatar_url: profile.avatarUrl?.slice(0, 512) ?? null, updated_at: now });
      }
      return (await findUserByOpenid(openid, trx))!;
    });
  }

  /** Mini-program login: find or create the user by the mini-program's openid, linked by unionid when possible. */
  async function recordMiniProgramUser(miniOpenid: string, unionid: string | undefined, now: Date): Promise<User> {
    return inTransaction(knex, async (trx) => {
      await ensureUser(trx, 'mini_openid', miniOpenid, unionid, now);
      return toUser(await table(trx).where({ mini_openid: miniOpenid }).first())!;
    });
  }

  /**
   * Marks the user unsubscribed, clears the phone and raises the session
   * version (which ends pending bindings). What unfollowing means is the
   * login service's decision; this is only the write.
   */
  async function recordUnfollow(userId: number, now: Date, trx?: Knex.Transaction): Promise<void> {
    await table(trx)
      .where({ id: userId })
      .update({
        phone: null,
        subscribed: false,
        session_version: knex.raw('session_version + 1'),
        updated_at: now,
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
    const query = table(trx)
      .where({ id: userId })
      .andWhere((where) => where.whereNull('phone').orWhere({ phone }));
    if (version !== undefined) query.andWhere({ session_version: version });
    try {
      return (await query.update({ phone, updated_at: now })) === 1;
    } catch (error) {
      if (isUniqueViolation(error)) throw new PhoneTakenError();
      throw error;
    }
  }

  async function touchLastLogin(userId: number, now: Date, trx?: Knex | Knex.Transaction): Promise<void> {
    await table(trx).where({ id: userId }).update({ last_login_time: now, updated_at: now });
  }

  return {
    findUserById,
    findUserByOpenid,
    findUsersByScenes,
    findUserByPhone,
    updateScan,
    insertScanningUser,
    linkScanToUnionid,
    setUnionidIfMissing,
    recordScan,
    recordFollow,
    recordOauthUser,
    recordMiniProgramUser,
    recordUnfollow,
    bindPhoneIfEmpty,
    touchLastLogin,
  };
}

export type UserQueries = ReturnType<typeof createUserQueries>;

export function toUser(row: Record<string, unknown> | undefined): User | undefined {
  if (!row) return undefined;
  return {
    id: Number(row.id),
    openid: (row.openid as string | null) ?? null,
    miniOpenid: (row.mini_openid as string | null) ?? null,
    unionid: (row.unionid as string | null) ?? null,
    nickname: (row.nickname as string | null) ?? null,
    avatarUrl: (row.avatar_url as string | null) ?? null,
    phone: (row.phone as string | null) ?? null,
    tmpSceneStr: (row.tmp_scene_str as string | null) ?? null,
    lastLoginTime: toOptionalDate(row.last_login_time),
    subscribed: Boolean(row.subscribed),
    sessionVersion: Number(row.session_version),
    createdAt: toDate(row.created_at),
  };
}
