import { z } from 'zod';
import { customSendPath, maxQrExpireSeconds, minQrExpireSeconds, qrcodeCreatePath, userInfoBatchPath, userInfoPath } from './constants.js';
import type { AccessTokenProvider } from './access-token.js';
import { openidField, unionidField } from './answer-fields.js';
import type { WechatHttp } from './http-client.js';
import type { Metrics } from '../metrics/metrics.js';

export interface OfficialAccountApiOptions {
  http: WechatHttp;
  tokens: AccessTokenProvider;
  metrics?: Metrics;
}

export interface LoginQrcode {
  ticket: string;
  /** The content the QR code encodes; we draw it ourselves instead of hotlinking showqrcode. */
  url: string;
  /** Not needed: the scene's own lifetime is what the login goes by. */
  expireSeconds?: number;
}

/**
 * qrcode/create: no login page without the url. WeChat's are about 40
 * characters (the simulator's start with PUBLIC_URL); the url is kept in the
 * browser's session with its scene and drawn as a QR code, so a much longer
 * one is refused rather than carried.
 */
const qrcodeAnswer = z.object({
  ticket: z.string().min(1),
  url: z.url({ protocol: /^https?$/ }).max(512),
  expire_seconds: z.number().int().positive().optional(),
});

/** user/info (and each item of batchget): whose answer it is, and the unionid, which WeChat gives for followers only. */
const userInfoAnswer = z.object({ openid: openidField, unionid: unionidField.optional() });
export type WechatUserInfo = z.output<typeof userInfoAnswer>;

/** batchget: an item that does not fit is left out on its own (answer-check.ts), the others are kept. */
const userInfoBatchAnswer = z.object({ user_info_list: z.array(userInfoAnswer).optional() });

/** custom/send answers only errcode and errmsg, checked before any schema. */
const customSendAnswer = z.object({});

/** The Official Account API calls the login needs. */
export function createOfficialAccountApi(options: OfficialAccountApiOptions) {
  const { http, tokens } = options;

  /** A temporary QR code whose scans carry `scene`: QR_STR_SCENE with the scene under action_info.scene.scene_str. */
  async function createLoginQrcode(scene: string, expireSeconds: number): Promise<LoginQrcode> {
    const answer = await tokens.withToken((token) =>
      http.post(
        qrcodeCreatePath,
        { access_token: token },
        {
          // WeChat accepts 60 s to 30 days; a shorter login lifetime is enforced by our scene, not by WeChat.
          expire_seconds: Math.min(Math.max(expireSeconds, minQrExpireSeconds), maxQrExpireSeconds),
          action_name: 'QR_STR_SCENE',
          action_info: { scene: { scene_str: scene } },
        },
        qrcodeAnswer,
      ),
    );
    options.metrics?.qrCodesCreated.inc();
    return {
      ticket: answer.ticket,
      url: answer.url,
      expireSeconds: answer.expire_seconds,
    };
  }

  async function getUserInfo(openid: string): Promise<WechatUserInfo> {
    return tokens.withToken((token) =>
      http.get(userInfoPath, { access_token: token, openid, lang: 'zh_CN' }, userInfoAnswer),
    );
  }

  /**
   * user/info for up to 100 openids in one call (user/info/batchget), in the
   * order asked. WeChat refuses the whole call when one openid is invalid (40003).
   */
  async function getUserInfos(openids: string[]): Promise<WechatUserInfo[]> {
    const answer = await tokens.withToken((token) =>
      http.post(userInfoBatchPath, { access_token: token }, { user_list: openids.map((openid) => ({ openid, lang: 'zh_CN' })) }, userInfoBatchAnswer),
    );
    return answer.user_info_list ?? [];
  }

  /**
   * A customer-service text message (客服消息). WeChat delivers it only within
   * 48 hours of the user's last interaction (45015 otherwise). Text may carry
   * `<a href="...">` links.
   */
  async function sendCustomText(openid: string, content: string): Promise<void> {
    await tokens.withToken((token) =>
      http.post(customSendPath, { access_token: token }, { touser: openid, msgtype: 'text', text: { content } }, customSendAnswer),
    );
  }

  return { createLoginQrcode, getUserInfo, getUserInfos, sendCustomText };
}

export type OfficialAccountApi = ReturnType<typeof createOfficialAccountApi>;
