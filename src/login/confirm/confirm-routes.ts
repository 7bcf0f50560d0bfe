import type Koa from 'koa';
import type { AppContext, AppRouter } from '../../http/context.js';
import { requireCsrf } from '../../http/csrf.js';
import { formOf } from '../../http/form.js';
import type { Render } from '../../http/render.js';
import type { MessageKey } from '../../messages/catalogue.js';
import { describeDevice } from '../session/device-description.js';
import type { ConfirmDecision, LoginConfirmation } from './login-confirmation.js';
import { placesDiffer } from './place-check.js';
import type { WechatIdentity } from '../identity/wechat-identity.js';

export interface ConfirmRouteDeps {
  confirmation: LoginConfirmation;
  identity: WechatIdentity;
  render: Render;
  formBody: Koa.Middleware;
}

/**
 * The confirm link from the scan's reply, opened in WeChat's in-app browser.
 * Who may call: anyone holding a live token, but only the scanner (proven by
 * a silent snsapi_base round trip, never by a parameter) sees the page or
 * decides. What they learn: the waiting browser, OS, IP and region, which
 * the scanner is shown on purpose. How often: each token decides once.
 */
export function confirmRoutes(router: AppRouter, deps: ConfirmRouteDeps): void {
  router.get('/login/confirm', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const found = await deps.confirmation.lookUpToken(ctx.query.t);
    if (found.kind === 'gone') return renderProblem(ctx, 'confirm_gone', 410);
    const openid = deps.identity.provenOpenid(ctx);
    if (!openid) return deps.identity.proveOpenid(ctx, `/login/confirm?t=${encodeURIComponent(String(ctx.query.t))}`);
    if (openid !== found.row.scannerOpenid) return renderProblem(ctx, 'confirm_foreign', 403);
    // Where the phone is, as the in-WeChat browser reaches us, against where the waiting browser is.
    const phoneRegion = describeDevice('', ctx.ip).region;
    deps.render(ctx, 'confirm.njk', {
      token: ctx.query.t,
      device: found.device,
      placeWarning: placesDiffer(found.device.region, phoneRegion) ? { browserPlace: found.device.region, phonePlace: phoneRegion } : undefined,
      requestedAt: new Date(found.row.createdAt),
      numbers: deps.confirmation.numberChoices(found.row.number!, found.row.scene),
    });
  });

  router.post('/login/confirm', deps.formBody, requireCsrf, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const form = formOf(ctx);
    const answer = readDecision(form);
    if (!answer) return renderProblem(ctx, 'confirm_bad_answer', 400);
    const openid = deps.identity.provenOpenid(ctx);
    // Only a browser that went through the OAuth check may decide; it reached this form through GET, which did it.
    if (!openid) return renderProblem(ctx, 'confirm_foreign', 403);
    const result = await deps.confirmation.decide(String(form.t ?? ''), openid, answer);
    if (result === 'gone') return renderProblem(ctx, 'confirm_gone', 410);
    if (result === 'foreign') return renderProblem(ctx, 'confirm_foreign', 403);
    const message = ({ approved: 'confirmApproved', denied: 'confirmDenied', wrong_number: 'confirmWrongNumber' } as const)[result];
    deps.render(ctx, 'confirm.njk', { outcome: result, message: ctx.state.t(message) });
  });

  function renderProblem(ctx: AppContext, code: MessageKey, status: number) {
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
