import type { Knex } from 'knex';
import type { AppOpenidColumn, User, UserQueries } from '../../db/users.js';
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
    | 'clearUnionid'
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
    const claimed = await deps.transaction(async (trx) => {
      const claim = await ensureUser(trx, 'openid', openid, unionid, at);
      await users.setSubscribed(openid, at, trx);
      return claim;
    });
    if (claimed) await joinTwinCommittedMeanwhile('openid', openid, unionid!, at);
  }

  /** In-WeChat OAuth: the user of this openid, created if new, with the nickname and avatar when given. */
  function recordOauthUser(openid: string, profile: WechatProfile): Promise<User> {
    return recordWebUser('openid', openid, profile);
  }

  /** The Open Platform's website login (open-qr): the user of the website application's openid, joined by unionid. */
  function recordOpenPlatformUser(openOpenid: string, profile: WechatProfile): Promise<User> {
    return recordWebUser('open_openid', openOpenid, profile);
  }

  async function recordWebUser(app: 'openid' | 'open_openid', openid: string, profile: WechatProfile): Promise<User> {
    const at = now();
    const { user, claimed } = await deps.transaction(async (trx) => {
      const claim = await ensureUser(trx, app, openid, profile.unionid, at);
      if (profile.nickname !== undefined || profile.avatarUrl !== undefined) await users.setProfile(openid, profile, at, trx, app);
      return { user: await userCreatedOrFound(trx, app, openid), claimed: claim };
    });
    return (claimed && (await joinTwinCommittedMeanwhile(app, openid, profile.unionid!, at))) || user;
  }

  /** Mini-program login: the user of the mini-program's openid, created if new. */
  async function recordMiniProgramUser(miniOpenid: string, unionid: string | undefined): Promise<User> {
    const at = now();
    const { user, claimed } = await deps.transaction(async (trx) => {
      const claim = await ensureUser(trx, 'mini_openid', miniOpenid, unionid, at);
      return { user: await userCreatedOrFound(trx, 'mini_openid', miniOpenid), claimed: claim };
    });
    return (claimed && (await joinTwinCommittedMeanwhile('mini_openid', miniOpenid, unionid!, at))) || user;
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
   * True when it gave a row a unionid that no other row had, as far as this
   * transaction could see (joinTwinCommittedMeanwhile checks again after the commit).
   */
  async function ensureUser(trx: Knex.Transaction, app: AppOpenidColumn, value: string, unionid: string | undefined, at: Date): Promise<boolean> {
    const existing = await users.findUserByAppOpenid(app, value, trx);
    if (existing) return unionid && !existing.unionid ? learnUnionid(trx, existing.id, unionid, at) : false;
    const linked = unionid ? await users.findUserByUnionidWithout(app, unionid, trx) : undefined;
    if (linked) {
      await users.setAppOpenid(linked.id, app, value, at, trx);
      return false;
    }
    return (await users.insertAppUser(app, value, unionid, at, trx)) === 'inserted' && unionid !== undefined;
  }

  /**
   * A known user's unionid became known (user/info of a follower, an
   * snsapi_userinfo login, the mini-program). When another user has it, the
   * same person was known twice (one row per app) and the rows are merged.
   * When they cannot be merged safely (two different phones), nothing
   * changes and the unionid stays with the other row. True when the unionid
   * was set on this user alone (no twin seen).
   */
  async function learnUnionid(trx: Knex.Transaction, userId: number, unionid: string, at: Date): Promise<boolean> {
    const twin = await users.findOtherUserByUnionid(unionid, userId, trx);
    if (!twin) {
      await users.setUnionid(userId, unionid, at, trx);
      return true;
    }
    await mergeIfSafe(trx, userId, twin.id, at);
    return false;
  }

  /** Joins two rows of one person, unless decideMerge refuses; 'refused' then. Both rows stay locked until `trx` commits. */
  async function mergeIfSafe(trx: Knex.Transaction, firstId: number, secondId: number, at: Date): Promise<'merged' | 'refused' | 'gone'> {
    const rows = await users.findUsersForUpdate([firstId, secondId], trx);
    if (rows.length !== 2) return 'gone';
    const decision = decideMerge(rows[0], rows[1]);
    if ('refused' in decision) return 'refused';
    await users.absorbUser(decision.keep.id, decision.gone.id, decision.merged, at, trx);
    return 'merged';
  }

  /**
   * After a transaction that gave a row a unionid no other row had: a
   * parallel transaction may have done the same for the person's other row
   * (a follow and a mini-program login at once), each blind to the other's
   * uncommitted write under MySQL's snapshot reads. Once both have committed,
   * the later of the two sees the other's row here and merges them; the
   * earlier finds nothing or the merge done. When the merge is refused, the
   * newer row gives the unionid up, as learnUnionid would have left it.
   * The user of this openid after a merge; undefined when nothing changed.
   */
  async function joinTwinCommittedMeanwhile(app: AppOpenidColumn, value: string, unionid: string, at: Date): Promise<User | undefined> {
    const mine = await users.findUserByAppOpenid(app, value);
    const twin = mine && (await users.findOtherUserByUnionid(unionid, mine.id));
    if (!mine || !twin) return undefined;
    const outcome = await deps.transaction(async (trx) => {
      const result = await mergeIfSafe(trx, mine.id, twin.id, at);
      if (result === 'refused') await users.clearUnionid(Math.max(mine.id, twin.id), at, trx);
      return result;
    });
    return outcome === 'merged' ? users.findUserByAppOpenid(app, value) : undefined;
  }

  return { recordFollow, recordOauthUser, recordOpenPlatformUser, recordMiniProgramUser };
}

export type UserIdentity = ReturnType<typeof createUserIdentity>;
