import type { Logger } from '../../logging/logger.js';
import { WechatError } from '../../wechat/errors.js';
import type { WechatUserInfo } from '../../wechat/official-account-api.js';

/** A newcomer's unionid, or undefined: never an error that could stop a login. */
export type UnionidLookup = (openid: string) => Promise<string | undefined>;

/**
 * Asks WeChat (`cgi-bin/user/info`) for a user's unionid, so that the same
 * person coming from the mini-program is the same user. WeChat answers it for
 * followers only; when it cannot be asked, the login goes on without it and a
 * warning is logged.
 */
export function createUnionidLookup(fetchUnionid: (openid: string) => Promise<string | undefined>, logger: Logger): UnionidLookup {
  return async (openid) => {
    try {
      return await fetchUnionid(openid);
    } catch (error) {
      logger.warn('user/info failed; going on without unionid', { error: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  };
}

/**
 * The unionids of many openids from one user/info/batchget call. WeChat
 * refuses the whole call when one openid is invalid (40003, say of a user who
 * blocked the account since): then each is asked on its own through `lookupOne`.
 * Network failures are the caller's to log.
 */
export function createUnionidBatchLookup(getUserInfos: (openids: string[]) => Promise<WechatUserInfo[]>, lookupOne: UnionidLookup) {
  return async (openids: string[]): Promise<Map<string, string>> => {
    const asked = new Set(openids);
    try {
      const infos = await getUserInfos(openids);
      return new Map(infos.filter((info) => asked.has(info.openid) && info.unionid).map((info) => [info.openid, info.unionid!]));
    } catch (error) {
      if (!(error instanceof WechatError)) throw error;
      const found = new Map<string, string>();
      for (const openid of openids) {
        const unionid = await lookupOne(openid);
        if (unionid) found.set(openid, unionid);
      }
      return found;
    }
  };
}
