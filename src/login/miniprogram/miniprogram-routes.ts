import type Koa from 'koa';
import { BadRequestError } from '../../errors.js';
import type { AppContext, AppMiddleware, AppRouter } from '../../http/context.js';
import { formOf } from '../../http/form.js';
import type { MiniProgramLogin } from './miniprogram-login.js';

export interface MiniProgramRouteDeps {
  miniProgramLogin: MiniProgramLogin;
  jsonBody: Koa.Middleware;
  /** The per-IP cap on logins: each costs a WeChat API call and may write a user. */
  limit: AppMiddleware;
}

/** The mini-program API: JSON in, JSON out, bearer tokens for the signed-in calls. */
export function miniProgramRoutes(router: AppRouter, deps: MiniProgramRouteDeps): void {
  router.post('/api/miniprogram/login', deps.limit, deps.jsonBody, async (ctx) => {
    // An app, not a browser: no device cookie.
    ctx.body = await deps.miniProgramLogin.logIn(codeOf(ctx), { ip: ctx.ip, userAgent: ctx.get('user-agent') });
  });

  router.post('/api/miniprogram/phone', deps.jsonBody, async (ctx) => {
    ctx.body = await deps.miniProgramLogin.bindPhone(bearerOf(ctx), codeOf(ctx));
  });

  router.post('/api/miniprogram/logout', async (ctx) => {
    await deps.miniProgramLogin.logOut(bearerOf(ctx));
    ctx.status = 204;
  });
}

function bearerOf(ctx: AppContext): string | undefined {
  return /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(ctx.get('authorization'))?.[1];
}

function codeOf(ctx: AppContext): string {
  const { code } = formOf(ctx);
  if (typeof code !== 'string' || code.length === 0 || code.length > 256) throw new BadRequestError('code is missing', 'missing_code');
  return code;
}
