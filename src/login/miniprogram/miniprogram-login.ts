import type { PhoneBinding } from '../phone/phone-binding.js';
import type { Logger } from '../../logging/logger.js';
import { normalizeMainlandPhone } from '../phone/phone.js';
import type { ApiTokenQueries } from '../../db/api-tokens.js';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../../errors.js';
import { randomToken } from '../../security/tokens.js';
import type { MiniProgramApi } from '../../wechat/mini-program-api.js';
import type { LoginMeta, LoginRecord } from '../session/login-record.js';
import type { UserIdentity } from '../identity/user-identity.js';

export interface MiniProgramLoginDeps {
  api: MiniProgramApi;
  /** Who the person is (one person, one user: user-identity.ts). */
  identity: Pick<UserIdentity, 'recordMiniProgramUser'>;
  tokens: ApiTokenQueries;
  loginRecord: Pick<LoginRecord, 'recordLoginWithoutSession'>;
  phoneBinding: Pick<PhoneBinding, 'bindVerifiedPhone'>;
  /** One line per login, as for browser logins (never the token or the code). */
  logger?: Logger;
  now?: () => number;
}

const tokenLifetimeMs = 30 * 24 * 60 * 60 * 1000;

/**
 * The mini-program login: `wx.login()` codes become bearer tokens (random,
 * stored as hashes, 30 days, revocable), and `getPhoneNumber` codes bind the
 * phone WeChat verified. The session_key never leaves WeChat's answer.
 */
export function createMiniProgramLogin(deps: MiniProgramLoginDeps) {
  const now = deps.now ?? Date.now;

  async function logIn(code: string, meta: LoginMeta): Promise<{ token: string; needPhone: boolean }> {
    const session = await deps.api.codeToSession(code);
    const at = new Date(now());
    const user = await deps.identity.recordMiniProgramUser(session.openid, session.unionid);
    // A blocked user (the operator console) logs in by no way in.
    if (user.blockedAt) throw new ForbiddenError('this account is blocked', 'account_blocked');
    const token = randomToken(32);
    await deps.tokens.insertToken(token, user.id, new Date(at.getTime() + tokenLifetimeMs), at);
    await deps.loginRecord.recordLoginWithoutSession(user, 'miniprogram', meta);
    deps.logger?.info('login', { userId: user.id, method: 'miniprogram', ip: meta.ip });
    return { token, needPhone: !user.phone };
  }

  async function bindPhone(bearer: string | undefined, code: string): Promise<{ phone: string; needPhone: false }> {
    const userId = await userOfBearer(bearer);
    const phone = normalizeMainlandPhone(await deps.api.getPhoneNumber(code));
    if (!phone) throw new ValidationError('WeChat returned a number outside mainland China', 'invalid_phone');
    await deps.phoneBinding.bindVerifiedPhone(userId, phone);
    return { phone, needPhone: false };
  }

  async function logOut(bearer: string | undefined): Promise<void> {
    if (!bearer || !(await deps.tokens.revokeToken(bearer, new Date(now())))) {
      throw new UnauthorizedError('missing, unknown or revoked token', 'unauthenticated');
    }
  }

  async function userOfBearer(bearer: string | undefined): Promise<number> {
    const userId = bearer ? await deps.tokens.findUserIdByToken(bearer, new Date(now())) : undefined;
    if (!userId) throw new UnauthorizedError('missing, unknown, expired or revoked token', 'unauthenticated');
    return userId;
  }

  return { logIn, bindPhone, logOut };
}

export type MiniProgramLogin = ReturnType<typeof createMiniProgramLogin>;
