import type { UnionidLookup } from '../identity/unionid-lookup.js';
import type { SingleUseTokenQueries } from '../../db/single-use-tokens.js';
import type { User, UserQueries } from '../../db/users.js';
import { BadRequestError, ForbiddenError } from '../../errors.js';
import type { SessionData } from '../../http/context.js';
import { randomToken } from '../../security/tokens.js';
import { textEquals } from '../../security/constant-time.js';
import type { OauthApi, OauthScope } from '../../wechat/oauth-api.js';
import type { UserIdentity } from '../identity/user-identity.js';

export type OauthPending = NonNullable<SessionData['oauth']>;

export interface OauthLoginDeps {
  oauth: OauthApi;
  users: Pick<UserQueries, 'findUserByOpenid'>;
  /** Who the person is (one person, one user: user-identity.ts). */
  identity: Pick<UserIdentity, 'recordOauthUser'>;
  /** Remembers each state on the server until it is used: a copied cookie cannot use it twice. */
  singleUse: SingleUseTokenQueries;
  publicUrl: string;
  /**
   * True when another app of the same Open Platform account (the mini-program)
   * logs people in too: then a newcomer's unionid is needed to recognise them.
   */
  needUnionid: boolean;
  /** cgi-bin/user/info: the unionid of a follower, silently; undefined for anyone else. */
  /** user/info for a newcomer's unionid; never throws (login/identity/unionid-lookup.ts). */
  fetchUnionid?: UnionidLookup;
  now?: () => number;
}

/** How a round trip ends: a user to log in, or a second round trip (snsapi_userinfo) to make. */
export type OauthOutcome = { kind: 'user'; user: User } | { kind: 'authorize'; pending: OauthPending; authorizeUrl: string };

/** A state is good for 10 minutes, once. */
const stateLifetimeMs = 10 * 60 * 1000;
const oauthStatePurpose = 'oauth-state';

/**
 * Login inside WeChat's own browser, where a QR code on the same screen
 * cannot be scanned: OAuth with snsapi_base (or snsapi_userinfo).
 * https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 */
export function createOauthLogin(deps: OauthLoginDeps) {
  const now = deps.now ?? Date.now;
  const redirectUri = `${deps.publicUrl}/auth/wechat/callback`;

  /** Starts a round trip: a random state, kept on the server and in the browser's session (`pending`). */
  async function beginOauth(scope: OauthScope, baseOpenid?: string): Promise<{ pending: OauthPending; authorizeUrl: string }> {
    const state = randomToken(12);
    const expiresAt = now() + stateLifetimeMs;
    await deps.singleUse.insertToken(oauthStatePurpose, state, new Date(expiresAt), new Date(now()));
    const pending: OauthPending = baseOpenid ? { state, scope, expiresAt, baseOpenid } : { state, scope, expiresAt };
    return { pending, authorizeUrl: deps.oauth.authorizeUrl(redirectUri, scope, state) };
  }

  /**
   * Finishes it: the state must be this browser's (`expected`) and unused on
   * the server, whatever copies of the cookie say; the code names the WeChat
   * user, who is found or created (nickname and avatar with snsapi_userinfo).
   *
   * snsapi_base gives no unionid. With a mini-program configured, a newcomer
   * (an openid we have never seen) without one would become a second user of
   * someone the mini-program knows; so their unionid is asked for silently
   * (user/info, followers only) and, failing that, with a second round trip
   * under snsapi_userinfo (one consent, once per person). If they decline it,
   * they log in without the unionid, and the rows are merged later, when the
   * unionid becomes known (login/identity/user-identity.ts).
   *
   * A snapshot-page account (`is_snapshotuser`) is virtual: it is refused,
   * never created, linked or logged in.
   */
  async function finishOauth(expected: OauthPending | undefined, state: unknown, code: unknown): Promise<OauthOutcome> {
    if (!expected || expected.expiresAt <= now() || !textEquals(expected.state, state)) {
      throw new BadRequestError('OAuth state mismatch', 'oauth_state');
    }
    if (!(await deps.singleUse.useToken(oauthStatePurpose, expected.state, new Date(now())))) {
      throw new BadRequestError('OAuth state already used', 'oauth_state');
    }
    if (typeof code !== 'string' || code.length === 0 || code.length > 256) {
      // Declining the second (snsapi_userinfo) consent still logs in the person the first one proved.
      if (expected.baseOpenid) return { kind: 'user', user: await deps.identity.recordOauthUser(expected.baseOpenid, {}) };
      throw new BadRequestError('OAuth code missing (the user may have declined)', 'oauth_code');
    }
    const grant = await deps.oauth.exchangeCode(code);
    if (grant.isSnapshotUser) throw new ForbiddenError('a snapshot-page (virtual) WeChat account', 'oauth_snapshot');
    if (expected.baseOpenid && expected.baseOpenid !== grant.openid) {
      throw new BadRequestError('the second authorization named another WeChat user', 'oauth_state');
    }
    const info = expected.scope === 'snsapi_userinfo' ? await deps.oauth.getUserInfo(grant) : undefined;
    let unionid = info?.unionid ?? grant.unionid;
    if (!unionid && deps.needUnionid) {
      const known = await deps.users.findUserByOpenid(grant.openid);
      if (!known?.unionid) unionid = await deps.fetchUnionid?.(grant.openid);
      if (!unionid && !known && expected.scope === 'snsapi_base') {
        return { kind: 'authorize', ...(await beginOauth('snsapi_userinfo', grant.openid)) };
      }
    }
    const user = await deps.identity.recordOauthUser(grant.openid, { unionid, nickname: info?.nickname, avatarUrl: info?.headimgurl });
    return { kind: 'user', user };
  }

  return { beginOauth, finishOauth };
}

export type OauthLogin = ReturnType<typeof createOauthLogin>;
