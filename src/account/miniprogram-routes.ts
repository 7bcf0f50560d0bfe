import type Koa from 'koa';
import type { ApiTokenQueries } from '../db/api-tokens.js';
import type { UserQueries } from '../db/users.js';
import { BadRequestError, UnauthorizedError, ValidationError } from '../errors.js';
import type { AppContext, AppRouter } from '../http/context.js';
import { formOf } from '../http/form.js';
import { randomToken } from '../http/session.js';
import type { LoginService } from '../login/login-service.js';
import { invalidAuthCodeErrcodes } from '../wechat/constants.js';
import { WechatError } from '../wechat/errors.js';
import type { MiniProgramApi } from '../wechat/mini-program-api.js';
import type { PhoneBinding } from './phone-binding.js';
import { normalizeMainlandPhone } from './phone.js';

export interface MiniProgramRouteDeps {
  api: MiniProgramApi;
  users: UserQueries;
  tokens: ApiTokenQueries;
  phoneBinding: Pick<PhoneBinding, 'bindVerifiedPhone'>;
  loginService: LoginService;
  jsonBody: Koa.Middleware;
  now?: () => number;
}

const tokenLifetimeMs = 30 * 24 * 60 * 60 * 1000;

/**
 * The mini-program API: `wx.login()` codes become bearer tokens, and
 * `getPhoneNumber` codes bind the phone WeChat verified. JSON in, JSON out.
 */
export function miniProgramRoutes(router: AppRouter, deps: MiniProgramRouteDeps): void {
  const now = deps.now ?? Date.now;

  router.post('/api/miniprogram/login', deps.jsonBody, async (ctx) => {
    const code = codeOf(ctx);
    const session = await withCodeErrors(() => deps.api.codeToSession(code));
    const at = new Date(now());
    const user = await deps.users.recordMiniProgramUser(session.openid, session.unionid, at);
    const token = randomToken(32);
    await deps.tokens.insertToken(token, user.id, new Date(at.getTime() + tokenLifetimeMs), at);
    await deps.loginService.recordLogin(user, 'miniprogram', { ip: ctx.ip, userAgent: ctx.get('user-agent') });
    ctx.body = { token, needPhone: !user.phone };
  });

  router.post('/api/miniprogram/phone', deps.jsonBody, async (ctx) => {
    const userId = await userOfBearer(ctx);
    const code = codeOf(ctx);
    const phone = normalizeMainlandPhone(await withCodeErrors(() => deps.api.getPhoneNumber(code)));
    if (!phone) throw new ValidationError('WeChat returned a number outside mainland China', 'invalid_phone');
    await deps.phoneBinding.bindVerifiedPhone(userId, phone);
    ctx.body = { phone, needPhone: false };
  });

  router.post('/api/miniprogram/logout', async (ctx) => {
    const token = bearerOf(ctx);
    if (!token || !(await deps.tokens.revokeToken(token, new Date(now())))) {
      throw new UnauthorizedError('missing, unknown or revoked token', 'unauthenticated');
    }
    ctx.status = 204;
  });

  async function userOfBearer(ctx: AppContext): Promise<number> {
    const token = bearerOf(ctx);
    const userId = token ? await deps.tokens.findUserIdByToken(token, new Date(now())) : undefined;
    if (!userId) throw new UnauthorizedError('missing, unknown, expired or revoked token', 'unauthenticated');
    return userId;
  }
}

function bearerOf(ctx: AppContext): string | undefined {
  return /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(ctx.get('authorization'))?.[1];
}

function codeOf(ctx: AppContext): string {
  const { code } = formOf(ctx);
  if (typeof code !== 'string' || code.length === 0 || code.length > 256) throw new BadRequestError('code is missing', 'missing_code');
  return code;
}

/** A used or invalid code is the caller's problem (400), not WeChat being down (503). */
async function withCodeErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof WechatError && invalidAuthCodeErrcodes.includes(error.errcode)) {
      throw new BadRequestError('the code is invalid or was already used', 'invalid_code');
    }
    throw error;
  }
}
