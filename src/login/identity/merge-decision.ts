import type { MergedUser } from '../../db/user-merge.js';
import type { User } from '../../db/users.js';

/** Two rows that may be one person (same unionid) but cannot be joined without dropping something. */
export type MergeRefusal = 'phone_conflict' | 'openid_conflict';

export type MergeDecision = { refused: MergeRefusal } | { keep: User; gone: User; merged: MergedUser };

/**
 * Whether two user rows of one person (one per app, found by their shared
 * unionid) may become one, which row stays, and what it holds then.
 *
 * The row that can have signed in to the OpenID Provider stays: one with the
 * Official Account's `openid` or the website application's `open_openid` (web
 * logins are by those; the mini-program has no web session). If both rows or
 * neither can, the older stays. The provider's `sub` is the user's id
 * (oidc/accounts.ts), which an application should never see change: only a
 * person who signed in on the web both ways before their unionid joined them
 * sees the newer id go. It takes the other app's openid, the phone, the profile
 * and the highest session version (the logins move with their rows).
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
  const canSignIn = (user: User) => user.openid !== null || user.openOpenid !== null;
  const [keep, gone] = canSignIn(newer) && !canSignIn(older) ? [newer, older] : [older, newer];
  // The latest scan and the follow are facts about the Official Account's openid, whichever row holds it.
  const official = keep.openid !== null || gone.openid === null ? keep : gone;
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
      tmpSceneStr: official.tmpSceneStr,
      subscribed: official.subscribed,
      sessionVersion: Math.max(keep.sessionVersion, gone.sessionVersion),
      // A block on either row stays on the person (the operator console); the console itself is the kept row's alone.
      blockedAt: keep.blockedAt ?? gone.blockedAt,
    },
  };
}
