import type Koa from 'koa';
import type { AppContext, AppRouter } from '../../http/context.js';
import { requireCsrf } from '../../http/csrf.js';
import { formOf } from '../../http/form.js';
import type { Render } from '../../http/render.js';
import { describeUserAgent } from '../../http/user-agent.js';
import type { WechatIdentity } from '../identity/wechat-identity.js';
import type { EndLinkCheck, EndSessionByLink } from './end-session-by-link.js';

export interface EndSessionRouteDeps {
  endSessionByLink: EndSessionByLink;
  identity: WechatIdentity;
  render: Render;
  formBody: Koa.Middleware;
}

const problemStatus = { gone: 410, foreign: 403 } as const;

/** The "end this login" link from the WeChat notice, opened in WeChat. */
export function endSessionRoutes(router: AppRouter, deps: EndSessionRouteDeps): void {
  router.get('/sessions/end', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const openid = deps.identity.provenOpenid(ctx);
    if (!openid) return deps.identity.proveOpenid(ctx, `/sessions/end?t=${encodeURIComponent(String(ctx.query.t ?? ''))}`);
    renderCheck(ctx, await deps.endSessionByLink.checkLink(ctx.query.t, openid), ctx.query.t);
  });

  router.post('/sessions/end', deps.formBody, requireCsrf, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const openid = deps.identity.provenOpenid(ctx);
    // The form is reached through GET, which proved the opener; without that proof nothing ends.
    if (!openid) return renderCheck(ctx, { kind: 'foreign' });
    const outcome = await deps.endSessionByLink.endByLink(formOf(ctx).t, openid);
    if (outcome === 'live') return deps.render(ctx, 'end-session.njk', { message: ctx.state.t('endLinkDone') });
    renderCheck(ctx, { kind: outcome } as EndLinkCheck);
  });

  function renderCheck(ctx: AppContext, check: EndLinkCheck, token?: unknown) {
    if (check.kind === 'gone' || check.kind === 'foreign') {
      return deps.render(ctx, 'end-session.njk', { problem: ctx.state.t(`end_link_${check.kind}`) }, problemStatus[check.kind]);
    }
    if (check.kind === 'ended') return deps.render(ctx, 'end-session.njk', { message: ctx.state.t('endLinkAlreadyEnded') });
    deps.render(ctx, 'end-session.njk', {
      token,
      session: { ...check.session, ...describeUserAgent(check.session.userAgent) },
    });
  }
}
