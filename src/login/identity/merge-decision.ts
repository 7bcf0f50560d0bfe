import type { MergedUser } from '../../db/user-merge.js';
import type { User } from '../../db/users.js';

/** Two rows that may be one person (same unionid) but cannot be joined without dropping something. */
export type MergeRefusal = 'phone_conflict' | 'openid_conflict';

export type MergeDecision = { refused: MergeRefusal } | { keep: User; gone: User; merged: MergedUser };

/**
 * Whether two user rows of one person (one per app, found by their shared
 * unionid) may become one, which row stays, and what it holds then.
 *
 * The row with the Official Account `openid` stays (if neither has one, the
 * older): only that row can have signed in to the OpenID Provider (web logins
 * are by openid; the mini-program has no web session), and the provider's
 * `sub` is the user's id (oidc/accounts.ts), which an application must never
 * see change. It takes the other app's openid, the phone, the profile, the
 * latest login time and the highest session version.
 *
 * Refused when the rows disagree: two different phones, or two different
 * openids for the same app. Such a pair needs a person to decide
 * (npm run admin -- find-user --unionid ... lists both).
 */
export function decideMerge(first: User, second: User): MergeDecision {
  const clash = (column: 'phone' | 'openid' | 'miniOpenid' | 'openOpenid') => first[column] !== null && second[column] !== null && first[column] !== second[column];
  if (clash('phone')) return { refused: 'phone_conflict' };
  if (clash('openid') || clash('miniOpenid') || clash('openOpenid')) return { refused: 'openid_conflict' };

  const [older, newer] = first.id < second.id ? [first, second] : [second, first];
  const [keep, gone] = newer.openid !== null && older.openid === null ? [newer, older] : [older, newer];
  const either = <K extends 'openid' | 'miniOpenid' | 'openOpenid' | 'unionid' | 'phone' | 'nickname' | 'avatarUrl'>(column: K) => keep[column] ?? gone[column];
  return {
    keep,
    gone,
    merged: {
      openid: either('openid'),
      miniOpenid: either('miniOpenid'),
      openOpenid: either('openOpenid'),
      unionid: either('unionid'),
      phone: either('phone'),
      nickname: either('nickname'),
      avatarUrl: either('avatarUrl'),
      // The scene of the latest scan and following are facts about the Official Account openid: the kept row's.
      tmpSceneStr: keep.tmpSceneStr,
      lastLoginTime: latest(keep.lastLoginTime, gone.lastLoginTime),
      subscribed: keep.subscribed,
      sessionVersion: Math.max(keep.sessionVersion, gone.sessionVersion),
    },
  };
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (a === null || b === null) return a ?? b;
  return a.getTime() >= b.getTime() ? a : b;
}
