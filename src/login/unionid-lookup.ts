import type { Logger } from '../http/error-handler.js';

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
