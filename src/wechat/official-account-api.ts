import { customSendPath, maxQrExpireSeconds, minQrExpireSeconds, qrcodeCreatePath, userInfoBatchPath, userInfoPath } from './constants.js';
import type { AccessTokenProvider } from './access-token.js';
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
  expireSeconds: number;
}

export interface WechatUserInfo {
  subscribe: number;
  openid: string;
  unionid?: string;
  language?: string;
  subscribe_time?: number;
}

/** The Official Account API calls the login needs. */
export function createOfficialAccountApi(options: OfficialAccountApiOptions) {
  const { http, tokens } = options;

  /** A temporary QR code whose scans carry `scene`: QR_STR_SCENE with the scene under action_info.scene.scene_str. */
  async function createLoginQrcode(scene: string, expireSeconds: number): Promise<LoginQrcode> {
    const answer = await tokens.withToken((token) =>
      http.post<{ ticket: string; expire_seconds: number; url: string }>(
        qrcodeCreatePath,
        { access_token: token },
        {
          // WeChat accepts 60 s to 30 days; a shorter login lifetime is enforced by our scene, not by WeChat.
          expire_seconds: Math.min(Math.max(expireSeconds, minQrExpireSeconds), maxQrExpireSeconds),
          action_name: 'QR_STR_SCENE',
          action_info: { scene: { scene_str: scene } },
        },
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
      http.get<WechatUserInfo>(userInfoPath, { access_token: token, openid, lang: 'zh_CN' }),
    );
  }

  /**
   * user/info for up to 100 openids in one call (user/info/batchget), in the
   * order asked. WeChat refuses the whole call when one openid is invalid (40003).
   */
  async function getUserInfos(openids: string[]): Promise<WechatUserInfo[]> {
    const answer = await tokens.withToken((token) =>
      http.post<{ user_info_list?: WechatUserInfo[] }>(
        userInfoBatchPath,
        { access_token: token },
        { user_list: openids.map((openid) => ({ openid, lang: 'zh_CN' })) },
      ),
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
      http.post<{ errcode: number }>(customSendPath, { access_token: token }, { touser: openid, msgtype: 'text', text: { content } }),
    );
  }

  return { createLoginQrcode, getUserInfo, getUserInfos, sendCustomText };
}

export type OfficialAccountApi = ReturnType<typeof createOfficialAccountApi>;
