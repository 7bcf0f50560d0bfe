import QRCode from 'qrcode';
import { ServiceUnavailableError } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import { apiQuotaReachedErrcode } from '../../wechat/constants.js';
import { WechatError } from '../../wechat/errors.js';
import type { OfficialAccountApi } from '../../wechat/official-account-api.js';
import type { LoginWay } from './login-way.js';

export interface OaQrDeps {
  api: Pick<OfficialAccountApi, 'createLoginQrcode'>;
  qrExpireSeconds: number;
  logger: Logger;
}

/** What the page keeps of an Official Account QR code: the content it encodes. */
export interface OaQrShown {
  qrUrl: string;
}

/**
 * `oa-qr`: the Official Account's temporary QR code with the scene
 * (`qrcode/create`, QR_STR_SCENE), drawn by us as inline SVG, never hotlinked.
 * Every creation and every failure is one log line with a stable message, so
 * that operators see the daily quota (45009) coming.
 */
export function createOaQrWay(deps: OaQrDeps): LoginWay<OaQrShown> {
  async function present(scene: string, { ip }: { ip: string }): Promise<{ shown: OaQrShown }> {
    try {
      const qrcode = await deps.api.createLoginQrcode(scene, deps.qrExpireSeconds);
      deps.logger.info('login qrcode created', { ip });
      return { shown: { qrUrl: qrcode.url } };
    } catch (error) {
      if (error instanceof WechatError && error.errcode === apiQuotaReachedErrcode) {
        deps.logger.error('login qrcode daily quota reached', { errcode: error.errcode, errmsg: error.errmsg });
        throw new ServiceUnavailableError('WeChat refuses more QR codes today (45009)', 'qr_quota_exhausted');
      }
      deps.logger.warn('login qrcode creation failed', {
        errcode: error instanceof WechatError ? error.errcode : undefined,
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  async function view(shown: OaQrShown) {
    return { qrSvg: await QRCode.toString(shown.qrUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }) };
  }

  return { name: 'oa-qr', method: 'qrcode', present, view };
}
