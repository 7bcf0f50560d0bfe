import { z } from 'zod';
import type { AccessTokenProvider } from './access-token.js';
import { miniOpenidField, phoneField, unionidField } from './answer-fields.js';
import { getUserPhoneNumberPath, jscode2sessionPath, unlimitedCodePath } from './constants.js';
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

/** code2Session: a session without its session_key is no session, even though the key is not kept. */
const sessionAnswer = z.object({
  openid: miniOpenidField,
  session_key: z.string().min(1),
  unionid: unionidField.optional(),
});

/** getuserphonenumber: the number is the whole point of the call. */
const phoneNumberAnswer = z.object({ phone_info: z.object({ purePhoneNumber: phoneField }) });

/** The mini-program calls the login needs. */
export function createMiniProgramApi(options: MiniProgramApiOptions) {
  /**
   * code2Session. The session_key it returns stays in this function: nothing
   * here needs it, and it must never leave the server.
   */
  async function codeToSession(code: string): Promise<MiniProgramSession> {
    const answer = await options.http.get(
      jscode2sessionPath,
      { appid: options.appId, secret: options.appSecret, js_code: code, grant_type: 'authorization_code' },
      sessionAnswer,
    );
    return { openid: answer.openid, unionid: answer.unionid };
  }

  /** The phone number WeChat verified for the code from `getPhoneNumber`, without country code. */
  async function getPhoneNumber(code: string): Promise<string> {
    const answer = await options.tokens.withToken((token) =>
      options.http.post(getUserPhoneNumberPath, { access_token: token }, { code }, phoneNumberAnswer),
    );
    return answer.phone_info.purePhoneNumber;
  }

  /**
   * A mini-program code that opens `page` with `scene` (getwxacodeunlimit): the
   * image's bytes. `check_path` only for the released version, whose pages
   * WeChat knows; a trial or development version's page may not be published yet.
   */
  async function createUnlimitedCode(scene: string, page: string, envVersion: 'release' | 'trial' | 'develop'): Promise<Buffer> {
    return options.tokens.withToken((token) =>
      options.http.postForImage(unlimitedCodePath, { access_token: token }, { scene, page, check_path: envVersion === 'release', env_version: envVersion, width: 280 }),
    );
  }

  return { codeToSession, getPhoneNumber, createUnlimitedCode };
}

export type MiniProgramApi = ReturnType<typeof createMiniProgramApi>;
