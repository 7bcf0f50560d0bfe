import type { Knex } from 'knex';
import type { AppOpenidColumn, User, UserQueries } from '../db/users.js';
import { decideMerge } from './merge-decision.js';

/** What WeChat said about someone at a login: the unionid when known, the nickname and avatar with snsapi_userinfo. */
export interface WechatProfile {
  unionid?: string;
  nickname?: string;
  avatarUrl?: string;
}

export interface UserIdentityDeps {
  users: Pick<
    UserQueries,
    | 'findUserByAppOpenid'
    | 'findUserByAppOpenidForUpdate'
    | 'findUserByUnionidWithout'
    | 'findOtherUserByUnionid'
    | 'findUsersForUpdate'
    | 'insertAppUser'
    | 'setAppOpenid'
    | 'setUnionid'
    | 'setSubscribed'
    | 'setProfile'
    | 'absorbUser'
  >;
  /** Runs work all-or-nothing (db/transaction.ts inTransaction: again after a deadlock). */
  transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;
  now?: () => Date;
}

/**
 * One person, one user: who a follow, an in-WeChat OAuth login or a
 * mini-program login is, whichever app they came from first. A user is found
 * by the app's openid, else by the unionid of a user known only through the
 * other app, else created; a unionid learned late joins the two rows
 * (merge-decision.ts). Each call is one transaction; the unique index on each
 * openid makes parallel calls create one user. (QR scans have their own,
 * shorter path: scan-recording.ts.)
 */
export function createUserIdentity(deps: UserIdentityDeps) {
  const now = deps.now ?? (() => new Date());
  const { users } = deps;

  /** A follow (no scene): the user, created if new, follows the account. */
  async function recordFollow(openid: string, unionid?: string): Promise<void> {
    const at = now();
    await deps.transaction(async (trx) => {
      await ensureUser(trx, 'openid', openid, unionid, at);
      await users.setSubscribed(openid, at, trx);
    });
  }

  /** In-WeChat OAuth: the user of this openid, created if new, with the nickname and avatar when given. */
  async function recordOauthUser(openid: string, profile: WechatProfile): Promise<User> {
    const at = now();
    return deps.transaction(async (trx) => {
      await ensureUser(trx, 'openid', openid, profile.unionid, at);
      if (profile.nickname !== undefined || profile.avatarUrl !== undefined) await users.setProfile(openid, profile, at, trx);
      return userCreatedOrFound(trx, 'openid', openid);
    });
  }

  /** Mini-program login: the user of the mini-program's openid, created if new. */
  async function recordMiniProgramUser(miniOpenid: string, unionid: string | undefined): Promise<User> {
    const at = now();
    return deps.transaction(async (trx) => {
      await ensureUser(trx, 'mini_openid', miniOpenid, unionid, at);
      return userCreatedOrFound(trx, 'mini_openid', miniOpenid);
    });
  }

  /**
   * The user ensureUser made sure of. Read locked: when a parallel call
   * inserted the user first, this transaction's own snapshot (MySQL's
   * REPEATABLE READ) predates that row, and a plain SELECT would miss it.
   */
  async function userCreatedOrFound(trx: Knex.Transaction, app: AppOpenidColumn, value: string): Promise<User> {
    const user = await users.findUserByAppOpenidForUpdate(app, value, trx);
    if (!user) throw new Error(`no user with this ${app} after ensuring one`);
    return user;
  }

  /**
   * Makes sure a user exists for this openid of `app`. A new openid whose
   * unionid belongs to someone known through the other app joins that user
   * instead of creating a second one. Of concurrent calls, one inserts; the
   * unique index refuses the others, whose user is then the one inserted.
   */
  async function ensureUser(trx: Knex.Transaction, app: AppOpenidColumn, value: string, unionid: string | undefined, at: Date): Promise<void> {
    const existing = await users.findUserByAppOpenid(app, value, trx);
    if (existing) {
      if (unionid && !existing.unionid) await learnUnionid(trx, existing.id, unionid, at);
      return;
    }
    const linked = unionid ? await users.findUserByUnionidWithout(app, unionid, trx) : undefined;
    if (linked) await users.setAppOpenid(linked.id, app, value, at, trx);
    else await users.insertAppUser(app, value, unionid, at, trx);
  }

  /**
   * A known user's unionid became known (user/info of a follower, an
   * snsapi_userinfo login, the mini-program). When another user has it, the
   * same person was known twice (one row per app) and the rows are merged.
   * When they cannot be merged safely (two different phones), nothing
   * changes and the unionid stays with the other row.
   */
  async function learnUnionid(trx: Knex.Transaction, userId: number, unionid: string, at: Date): Promise<void> {
    const twin = await users.findOtherUserByUnionid(unionid, userId, trx);
    if (!twin) {
      await users.setUnionid(userId, unionid, at, trx);
      return;
    }
    // Both rows stay locked until the merge commits, and are decided on as they are now.
    const rows = await users.findUsersForUpdate([userId, twin.id], trx);
    if (rows.length !== 2) return;
    const decision = decideMerge(rows[0], rows[1]);
    if ('refused' in decision) return;
    await users.absorbUser(decision.keep.id, decision.gone.id, decision.merged, at, trx);
  }

  return { recordFollow, recordOauthUser, recordMiniProgramUser };
}

export type UserIdentity = ReturnType<typeof createUserIdentity>;
