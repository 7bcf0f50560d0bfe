import type Koa from 'koa';
import { BadRequestError } from '../../errors.js';
import type { AppContext, AppMiddleware, AppRouter } from '../../http/context.js';
import { formOf } from '../../http/form.js';
import type { MiniCodeScan, MiniDecision } from './mini-code-scan.js';
import type { MiniProgramLogin } from './miniprogram-login.js';

export interface MiniProgramRouteDeps {
  miniProgramLogin: MiniProgramLogin;
  /** Scanning and confirming a mini-program code (miniprogram-code). */
  miniCodeScan: MiniCodeScan;
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

  // miniprogram-code: the example page's two calls (examples/miniprogram/). Each costs a jscode2session call: capped per IP.
  router.post('/api/miniprogram/qr/scan', deps.limit, deps.jsonBody, async (ctx) => {
    ctx.body = await deps.miniCodeScan.scan(formOf(ctx).scene, codeOf(ctx));
  });

  router.post('/api/miniprogram/qr/confirm', deps.limit, deps.jsonBody, async (ctx) => {
    const form = formOf(ctx);
    await deps.miniCodeScan.confirm(form.ticket, codeOf(ctx), decisionOf(form));
    ctx.status = 204;
  });

  router.post('/api/miniprogram/logout', async (ctx) => {
    await deps.miniProgramLogin.logOut(bearerOf(ctx));
    ctx.status = 204;
  });
}

function bearerOf(ctx: AppContext): string | undefined {
  return /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(ctx.get('authorization'))?.[1];
}

function decisionOf(form: Record<string, unknown>): MiniDecision {
  if (form.decision === 'deny') return { decision: 'deny' };
  if (form.decision !== 'approve') throw new BadRequestError('decision must be approve or deny');
  // A number sent as JSON's number, not a string, is the same pick.
  return { decision: 'approve', number: typeof form.number === 'string' || typeof form.number === 'number' ? String(form.number) : undefined };
}

function codeOf(ctx: AppContext): string {
  const { code } = formOf(ctx);
  if (typeof code !== 'string' || code.length === 0 || code.length > 256) throw new BadRequestError('code is missing', 'missing_code');
  return code;
}
