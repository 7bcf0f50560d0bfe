import type { User } from '../../db/users.js';
import type { Logger } from '../../logging/logger.js';
import { WechatError } from '../../wechat/errors.js';
import { describeDevice } from './device-description.js';
import type { DeviceMemory } from './device-memory.js';
import type { AfterSignIn, StartedSession } from './session-login.js';
import { wechatTexts } from '../../messages/wechat-texts.js';

export interface LoginAftercareDeps {
  devices: Pick<DeviceMemory, 'rememberAfterLogin'>;
  /** cgi-bin/message/custom/send with a text. */
  sendCustomText: (openid: string, content: string) => Promise<void>;
  logger: Logger;
  now?: () => number;
  /** The link in the notice that ends the session just created. */
  endSessionLink: (started: StartedSession) => string;
}

/** The logins a person started from a page's code (a QR code, a code sent, a mini-program code, WeChat's website page): each gets the notice with its end link. */
const sceneMethods = new Set(['qrcode', 'code', 'miniprogram-code', 'open']);

/**
 * What follows every completed browser login, kept out of the login itself
 * and done after its answer: the browser becomes a known device for the user
 * (LOGIN_CONFIRM=new-device; written with other logins' browsers, and the id
 * the browser came with forgotten: device-memory.ts), and after a login from
 * a page's code the user gets a WeChat message naming the browser, OS and
 * IP, with a link that ends that session. Every sign-in counts: the poll,
 * OAuth, and /bind (a QR login that needed a phone completes there).
 * Neither step can fail a login that has already happened: failures are logged.
 */
export function createLoginAftercare(deps: LoginAftercareDeps): AfterSignIn {
  const now = deps.now ?? Date.now;
  return async (ctx, started) => {
    const { user, method } = started;
    // The id this browser came with is replaced (device-cookie.ts); if it was this user's, it goes.
    const previousDeviceHash = started.previousDeviceHash !== started.deviceHash ? started.previousDeviceHash : undefined;
    deps.devices.rememberAfterLogin({ userId: user.id, sessionId: started.id, deviceHash: started.deviceHash, previousDeviceHash });
    if (sceneMethods.has(method) && user.openid) {
      // Read now, written and sent once the browser has its answer: WeChat's answer must not hold the login.
      const request = { userAgent: ctx.get('user-agent'), ip: ctx.ip, lang: ctx.state.lang ?? 'zh', at: new Date(now()) };
      setImmediate(() => {
        // In the language of the page that logged in, as the scan's replies were.
        const text = wechatTexts[request.lang].notice(describeDevice(request.userAgent, request.ip), request.at, deps.endSessionLink(started));
        void sendNotice(user, text);
      });
    }
  };

  async function sendNotice(user: User, text: string): Promise<void> {
    try {
      await deps.sendCustomText(user.openid!, text);
    } catch (error) {
      const fields: Record<string, unknown> = { userId: user.id, error: error instanceof Error ? error.message : String(error) };
      if (error instanceof WechatError) fields.errcode = error.errcode;
      deps.logger.warn('login notice not sent', fields);
    }
  }
}
