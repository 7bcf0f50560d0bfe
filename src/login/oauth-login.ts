import type { SingleUseTokenQueries } from '../db/single-use-tokens.js';
import type { User, UserQueries } from '../db/users.js';
import { BadRequestError } from '../errors.js';
import type { SessionData } from '../http/context.js';
import { randomToken } from '../http/session.js';
import { textEquals } from '../security/constant-time.js';
import type { OauthApi, OauthScope } from '../wechat/oauth-api.js';

export type OauthPending = NonNullable<SessionData['oauth']>;

export interface OauthLoginDeps {
  oauth: OauthApi;
  users: Pick<UserQueries, 'recordOauthUser'>;
  /** Remembers each state on the server until it is used: a copied cookie cannot use it twice. */
  singleUse: SingleUseTokenQueries;
  publicUrl: string;
  now?: () => number;
}

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
  async function beginOauth(scope: OauthScope): Promise<{ pending: OauthPending; authorizeUrl: string }> {
    const state = randomToken(12);
    const expiresAt = now() + stateLifetimeMs;
    await deps.singleUse.insertToken(oauthStatePurpose, state, new Date(expiresAt), new Date(now()));
    return { pending: { state, scope, expiresAt }, authorizeUrl: deps.oauth.authorizeUrl(redirectUri, scope, state) };
  }

  /**
   * Finishes it: the state must be this browser's (`expected`) and unused on
   * the server, whatever copies of the cookie say; the code names the WeChat
   * user, who is found or created (nickname and avatar with snsapi_userinfo).
   */
  async function finishOauth(expected: OauthPending | undefined, state: unknown, code: unknown): Promise<User> {
    if (!expected || expected.expiresAt <= now() || !textEquals(expected.state, state)) {
      throw new BadRequestError('OAuth state mismatch', 'oauth_state');
    }
    if (!(await deps.singleUse.useToken(oauthStatePurpose, expected.state, new Date(now())))) {
      throw new BadRequestError('OAuth state already used', 'oauth_state');
    }
    if (typeof code !== 'string' || code.length === 0 || code.length > 256) {
      throw new BadRequestError('OAuth code missing (the user may have declined)', 'oauth_code');
    }
    const grant = await deps.oauth.exchangeCode(code);
    const info = expected.scope === 'snsapi_userinfo' ? await deps.oauth.getUserInfo(grant) : undefined;
    return deps.users.recordOauthUser(
      grant.openid,
      { unionid: info?.unionid ?? grant.unionid, nickname: info?.nickname, avatarUrl: info?.headimgurl },
      new Date(now()),
    );
  }

  return { beginOauth, finishOauth };
}

export type OauthLogin = ReturnType<typeof createOauthLogin>;
