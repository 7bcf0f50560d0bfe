import type { AppMiddleware, AppRouter } from '../../http/context.js';
import { sessionOf } from '../../http/cookie-session.js';
import { safeNextPath } from '../../http/safe-next.js';
import type { CompleteLogin } from '../session/session-login.js';
import type { OpenLogin } from './open-login.js';

export interface OpenRouteDeps {
  openLogin: OpenLogin;
  completeLogin: CompleteLogin;
  /** The per-IP cap: the start writes a state row, the return costs WeChat API calls. */
  limit: AppMiddleware;
}

/** open-qr: the redirect to WeChat's qrconnect page, and the way back. */
export function openRoutes(router: AppRouter, deps: OpenRouteDeps): void {
  router.get('/auth/wechat/open', deps.limit, async (ctx) => {
    const session = sessionOf(ctx);
    const next = safeNextPath(ctx.query.next);
    if (next) session.next = next;
    const { pending, url } = await deps.openLogin.begin();
    session.openLogin = pending;
    ctx.redirect(url);
  });

  router.get('/auth/wechat/open/callback', deps.limit, async (ctx) => {
    const session = sessionOf(ctx);
    const expected = session.openLogin;
    // Single use in this browser too: whatever happens next, this state is gone.
    delete session.openLogin;
    const user = await deps.openLogin.finish(expected, ctx.query.state, ctx.query.code);
    const outcome = await deps.completeLogin(ctx, user, 'open');
    ctx.redirect(outcome.redirect ?? '/login');
  });
}
