import type Koa from 'koa';
import type { AppContext, AppRouter } from '../http/context.js';
import { requireCsrf } from '../http/csrf.js';
import { formOf } from '../http/form.js';
import type { Render } from '../http/render.js';
import { randomToken, sessionOf } from '../http/session.js';
import { textEquals } from '../security/constant-time.js';
import { invalidAuthCodeErrcodes } from '../wechat/constants.js';
import { WechatError } from '../wechat/errors.js';
import type { OauthApi } from '../wechat/oauth-api.js';
import type { ConfirmDecision, LoginConfirmation } from './login-confirmation.js';

export interface ConfirmRouteDeps {
  confirmation: LoginConfirmation;
  oauth: OauthApi;
  render: Render;
  formBody: Koa.Middleware;
  publicUrl: string;
  now?: () => number;
}

/** The OAuth round trip must come back within this time, once. */
const oauthStateLifetimeMs = 5 * 60 * 1000;
/** How long this browser is trusted to be that WeChat user, for confirm links. */
const provenOpenidLifetimeMs = 30 * 60 * 1000;

/**
 * The confirm link from the scan's reply, opened in WeChat's in-app browser.
 * Who may call: anyone holding a live token, but only the scanner (proven by
 * a silent snsapi_base round trip, never by a parameter) sees the page or
 * decides. What they learn: the waiting browser, OS, IP and region, which
 * the scanner is shown on purpose. How often: each token decides once.
 */
export function confirmRoutes(router: AppRouter, deps: ConfirmRouteDeps): void {
  const now = deps.now ?? Date.now;
  const redirectUri = `${deps.publicUrl}/login/confirm/callback`;

  router.get('/login/confirm', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const found = await deps.confirmation.lookUpToken(ctx.query.t);
    if (found.kind === 'gone') return renderProblem(ctx, 'confirm_gone', 410);
    const openid = provenOpenid(ctx);
    if (!openid) return startOauth(ctx, String(ctx.query.t));
    if (openid !== found.row.scannerOpenid) return renderProblem(ctx, 'confirm_foreign', 403);
    deps.render(ctx, 'confirm.njk', {
      token: ctx.query.t,
      device: found.device,
      requestedAt: new Date(found.row.createdAt),
      numbers: deps.confirmation.numberChoices(found.row.number!),
    });
  });

  router.get('/login/confirm/callback', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const session = sessionOf(ctx);
    const expected = session.confirmOauth;
    // Single use: whatever happens next, this state cannot be replayed.
    delete session.confirmOauth;
    if (!expected || expected.expiresAt <= now() || !textEquals(expected.state, ctx.query.state)) {
      return renderProblem(ctx, 'oauth_state', 400);
    }
    const code = ctx.query.code;
    if (typeof code !== 'string' || code.length === 0 || code.length > 256) return renderProblem(ctx, 'oauth_code', 400);
    try {
      const grant = await deps.oauth.exchangeCode(code);
      session.wechatOpenid = { openid: grant.openid, expiresAt: now() + provenOpenidLifetimeMs };
    } catch (error) {
      if (error instanceof WechatError && invalidAuthCodeErrcodes.includes(error.errcode)) return renderProblem(ctx, 'oauth_code', 400);
      throw error;
    }
    ctx.redirect(`/login/confirm?t=${encodeURIComponent(expected.token)}`);
  });

  router.post('/login/confirm', deps.formBody, requireCsrf, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const form = formOf(ctx);
    const answer = readDecision(form);
    if (!answer) return renderProblem(ctx, 'confirm_bad_answer', 400);
    const openid = provenOpenid(ctx);
    // Only a browser that went through the OAuth check may decide; it reached this form through GET, which did it.
    if (!openid) return renderProblem(ctx, 'confirm_foreign', 403);
    const result = await deps.confirmation.decide(String(form.t ?? ''), openid, answer);
    if (result === 'gone') return renderProblem(ctx, 'confirm_gone', 410);
    if (result === 'foreign') return renderProblem(ctx, 'confirm_foreign', 403);
    const message = { approved: 'confirmApproved', denied: 'confirmDenied', wrong_number: 'confirmWrongNumber' }[result];
    deps.render(ctx, 'confirm.njk', { outcome: result, message: ctx.state.t(message) });
  });

  function provenOpenid(ctx: AppContext): string | undefined {
    const proven = ctx.session?.wechatOpenid;
    return proven && proven.expiresAt > now() ? proven.openid : undefined;
  }

  /** The silent snsapi_base round trip: WeChat sends the opener back with a code that names them. */
  function startOauth(ctx: AppContext, token: string) {
    const state = randomToken(12);
    sessionOf(ctx).confirmOauth = { state, token, expiresAt: now() + oauthStateLifetimeMs };
    ctx.redirect(deps.oauth.authorizeUrl(redirectUri, 'snsapi_base', state));
  }

  function renderProblem(ctx: AppContext, code: string, status: number) {
    deps.render(ctx, 'confirm.njk', { problem: ctx.state.t(code) }, status);
  }
}

function readDecision(form: Record<string, unknown>): ConfirmDecision | undefined {
  if (form.decision === 'deny') return { decision: 'deny' };
  if (form.decision === 'approve' && typeof form.number === 'string' && /^\d{2}$/.test(form.number)) {
    return { decision: 'approve', number: form.number };
  }
  return undefined;
}
