import type { AccessTokenProvider } from './access-token.js';
import { getUserPhoneNumberPath, jscode2sessionPath } from './constants.js';
import type { WechatHttp } from './http-client.js';

export interface MiniProgramApiOptions {
  http: WechatHttp;
  /** The mini-program's own access token: a different one from the Official Account's. */
  tokens: AccessTokenProvider;
  appId: string;
  appSecret: string;
}

export interface MiniProgramSession {
  openid: string;
  unionid?: string;
}

/** The mini-program calls the login needs. */
export function createMiniProgramApi(options: MiniProgramApiOptions) {
  /**
   * code2Session. The session_key it returns stays in this function: nothing
   * here needs it, and it must never leave the server.
   */
  async function codeToSession(code: string): Promise<MiniProgramSession> {
    const answer = await options.http.get<{ openid: string; unionid?: string; session_key: string }>(jscode2sessionPath, {
      appid: options.appId,
      secret: options.appSecret,
      js_code: code,
      grant_type: 'authorization_code',
    });
    return { openid: answer.openid, unionid: answer.unionid };
  }

  /** The phone number WeChat verified for the code from `getPhoneNumber`, without country code. */
  async function getPhoneNumber(code: string): Promise<string> {
    const answer = await options.tokens.withToken((token) =>
      options.http.post<{ phone_info: { purePhoneNumber: string; countryCode: string } }>(getUserPhoneNumberPath, { access_token: token }, { code }),
    );
    return answer.phone_info.purePhoneNumber;
  }

  return { codeToSession, getPhoneNumber };
}

export type MiniProgramApi = ReturnType<typeof createMiniProgramApi>;
