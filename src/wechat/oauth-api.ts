import { z } from 'zod';
import { avatarUrlField, nicknameField, openidField, unionidField } from './answer-fields.js';
import { oauthAccessTokenPath, oauthAuthorizePath, qrconnectPath, snsUserInfoPath } from './constants.js';
import type { WechatHttp } from './http-client.js';

export type OauthScope = 'snsapi_base' | 'snsapi_userinfo';

export interface OauthApiOptions {
  http: WechatHttp;
  appId: string;
  appSecret: string;
  openBase: string;
}

export interface OauthGrant {
  openid: string;
  /** Only with snsapi_userinfo ("只有当scope为snsapi_userinfo时返回"). */
  unionid?: string;
  accessToken: string;
  scope?: string;
  /**
   * `is_snapshotuser: 1`: WeChat's snapshot-page mode (since 2022-07-12)
   * handed out a virtual account; its openid and unionid are nobody's.
   */
  isSnapshotUser: boolean;
}

/** oauth2/access_token: the openid is who logs in, and the access_token is needed for sns/userinfo. */
const oauthTokenAnswer = z.object({
  access_token: z.string().min(1),
  openid: openidField,
  unionid: unionidField.optional(),
  scope: z.string().optional(),
  // Read as a snapshot account unless absent or 0 (see exchangeCode): never left out.
  is_snapshotuser: z.unknown().optional(),
});

/** sns/userinfo: the profile is a nicety, each field optional. */
const snsUserInfoAnswer = z.object({
  nickname: nicknameField.optional(),
  headimgurl: avatarUrlField.optional(),
  unionid: unionidField.optional(),
});
export type SnsUserInfo = z.output<typeof snsUserInfoAnswer>;

/**
 * Web authorization inside WeChat (网页授权), and the Open Platform's website login.
 * https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
 */
export function createOauthApi(options: OauthApiOptions) {
  /** The authorize address; WeChat insists on the `#wechat_redirect` fragment. */
  function authorizeUrl(redirectUri: string, scope: OauthScope, state: string): string {
    const query = new URLSearchParams({
      appid: options.appId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      state,
    });
    return `${options.openBase}${oauthAuthorizePath}?${query}#wechat_redirect`;
  }

  /**
   * The Open Platform's website login (qrconnect, snsapi_login): WeChat's own
   * page with a QR code, confirmed on the phone.
   * https://developers.weixin.qq.com/doc/oplatform/Website_App/WeChat_Login/Wechat_Login.html
   */
  function qrconnectUrl(redirectUri: string, state: string): string {
    const query = new URLSearchParams({ appid: options.appId, redirect_uri: redirectUri, response_type: 'code', scope: 'snsapi_login', state });
    return `${options.openBase}${qrconnectPath}?${query}#wechat_redirect`;
  }

  /** Trades the one-time code for the user's openid (and a user access token). */
  async function exchangeCode(code: string): Promise<OauthGrant> {
    const answer = await options.http.get(
      oauthAccessTokenPath,
      { appid: options.appId, secret: options.appSecret, code, grant_type: 'authorization_code' },
      oauthTokenAnswer,
    );
    return {
      openid: answer.openid,
      unionid: answer.unionid,
      accessToken: answer.access_token,
      scope: answer.scope,
      // WeChat sends 1 or nothing; anything else is taken as the virtual account, so a misread refuses rather than admits.
      isSnapshotUser: answer.is_snapshotuser !== undefined && answer.is_snapshotuser !== 0,
    };
  }

  /** The nickname and avatar; needs a grant with snsapi_userinfo. */
  async function getUserInfo(grant: OauthGrant): Promise<SnsUserInfo> {
    return options.http.get(snsUserInfoPath, { access_token: grant.accessToken, openid: grant.openid, lang: 'zh_CN' }, snsUserInfoAnswer);
  }

  return { authorizeUrl, qrconnectUrl, exchangeCode, getUserInfo };
}

export type OauthApi = ReturnType<typeof createOauthApi>;
