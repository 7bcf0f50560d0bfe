import type { AppMiddleware, AppRouter } from '../../http/context.js';
import { safeNextPath } from '../../http/safe-next.js';
import { sessionOf } from '../../http/cookie-session.js';
import type { OauthLogin } from './oauth-login.js';
import type { CompleteLogin } from '../session/session-login.js';

export interface OauthRouteDeps {
  oauthLogin: OauthLogin;
  completeLogin: CompleteLogin;
  /** The per-IP cap: the start writes a state row, the return costs a WeChat API call. */
  limit: AppMiddleware;
}

/** In-WeChat login: the redirect to WeChat's authorize page, and the way back. */
export function oauthRoutes(router: AppRouter, deps: OauthRouteDeps): void {
  router.get('/auth/wechat', deps.limit, async (ctx) => {
    const session = sessionOf(ctx);
    const next = safeNextPath(ctx.query.next);
    if (next) session.next = next;
    const { pending, authorizeUrl } = await deps.oauthLogin.beginOauth(ctx.query.scope === 'userinfo' ? 'snsapi_userinfo' : 'snsapi_base');
    session.oauth = pending;
    ctx.redirect(authorizeUrl);
  });

  router.get('/auth/wechat/callback', deps.limit, async (ctx) => {
    const session = sessionOf(ctx);
    const expected = session.oauth;
    // Single use in this browser too: whatever happens next, this state is gone.
    delete session.oauth;
    const finished = await deps.oauthLogin.finishOauth(expected, ctx.query.state, ctx.query.code);
    if (finished.kind === 'authorize') {
      // A newcomer whose unionid is needed: once more, with snsapi_userinfo.
      session.oauth = finished.pending;
      return ctx.redirect(finished.authorizeUrl);
    }
    const outcome = await deps.completeLogin(ctx, finished.user, 'oauth');
    ctx.redirect(outcome.redirect ?? '/login');
  });
}
