import type { Knex } from 'knex';
import type { UserQueries } from '../../db/users.js';
import { wechatTexts } from '../../messages/wechat-texts.js';
import type { WechatMessage } from '../../wechat/messages.js';
import type { UserIdentity } from '../identity/user-identity.js';
import type { UnionidLookup } from '../identity/unionid-lookup.js';
import type { ScanToLogin } from '../scan/scan-to-login.js';

/** The "nothing to say" answer WeChat expects. */
export const emptyReply = 'success';

export interface WechatEventDeps {
  users: Pick<UserQueries, 'findUserByOpenid' | 'recordUnfollow'>;
  /** Who a follow is (one person, one user: identity/user-identity.ts). */
  identity: Pick<UserIdentity, 'recordFollow'>;
  scanToLogin: Pick<ScanToLogin, 'onScan' | 'onCode'>;
  transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;
  /**
   * Ends everything that lets the user in without a new login (server-side
   * sessions, mini-program tokens), inside the unfollow's transaction.
   */
  endAllAccess: (userId: number, trx: Knex.Transaction) => Promise<void>;
  /** user/info for a newcomer's unionid; never throws (identity/unionid-lookup.ts). */
  fetchUnionid?: UnionidLookup;
  /** WECHAT_FORWARD_URL is set: what is not ours goes to the business's server, which answers it. */
  forwarding: boolean;
  now?: () => Date;
}

/**
 * What a push leads to: our own passive reply, if any, and whether the
 * business's server gets the push too (CONTRACT.md "Sharing the Official
 * Account": a login scan or a live login code is ours alone; everything else
 * is theirs as well).
 */
export interface EventOutcome {
  reply?: string;
  forward: boolean;
}

/** What each push to the Official Account's callback does: a scan (or a login code sent) logs in, a follow is recorded, an unfollow ends access; and who else gets it. */
export function createWechatEvents(deps: WechatEventDeps) {
  const now = deps.now ?? (() => new Date());

  /** Handles one push: our reply, if we have one, and whether the business's server gets the push too. */
  async function handleWechatEvent(message: WechatMessage): Promise<EventOutcome> {
    switch (message.kind) {
      case 'scan': {
        const reply = await deps.scanToLogin.onScan(message.openid, message.scene, message.event);
        // A scene of the business's own QR codes is theirs to answer; a follow through our code is a follow for them too.
        if (reply === undefined) return deps.forwarding ? { forward: true } : { reply: wechatTexts.zh.sceneInvalid, forward: false };
        return { reply, forward: message.event === 'subscribe' };
      }
      case 'subscribe':
        await deps.identity.recordFollow(message.openid, await unionidOfNewcomer(message.openid));
        return { forward: true };
      case 'unsubscribe':
        await handleUnfollow(message.openid);
        return { forward: true };
      case 'text': {
        const code = await deps.scanToLogin.onCode(message.openid, message.content);
        // Only a code that names no live login may be the business's: a refused sender's code may be live, and stays here.
        if (code && (code.outcome !== 'unknown' || !deps.forwarding)) return { reply: code.reply, forward: false };
        return { forward: true };
      }
      default:
        return { forward: true };
    }
  }

  /**
   * Unfollowing ends the relationship: the phone is unbound, every session and
   * mini-program token ends, and so does every pending binding (the session
   * version moves on). All or nothing, and a retried delivery changes nothing more.
   */
  async function handleUnfollow(openid: string): Promise<void> {
    await deps.transaction(async (trx) => {
      const user = await deps.users.findUserByOpenid(openid, trx);
      if (!user) return;
      await deps.users.recordUnfollow(user.id, now(), trx);
      await deps.endAllAccess(user.id, trx);
    });
  }

  /**
   * Only for an openid we have never seen, or one whose unionid we still lack
   * (a follow is when user/info starts answering it, and learning it may join
   * this user with their mini-program twin): others cost no API call.
   * If WeChat cannot be asked, the follow goes on without the unionid.
   */
  async function unionidOfNewcomer(openid: string): Promise<string | undefined> {
    return (await deps.users.findUserByOpenid(openid))?.unionid ? undefined : deps.fetchUnionid?.(openid);
  }

  return { handleWechatEvent };
}

export type WechatEvents = ReturnType<typeof createWechatEvents>;
