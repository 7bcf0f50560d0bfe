import type Koa from 'koa';
import { BadRequestError } from '../../errors.js';
import type { AppRouter } from '../../http/context.js';
import { requireCsrf } from '../../http/csrf.js';
import { formOf } from '../../http/form.js';
import { regenerateSession } from '../../http/cookie-session.js';
import type { CurrentSession } from './current-user.js';
import type { SessionStore } from './session-store.js';

export interface SessionRouteDeps {
  currentSession: CurrentSession;
  sessions: SessionStore;
  formBody: Koa.Middleware;
}

/** Ending sessions: logout here, one other device, or every other device. */
export function sessionRoutes(router: AppRouter, deps: SessionRouteDeps): void {
  router.post('/logout', deps.formBody, requireCsrf, async (ctx) => {
    const signedIn = await deps.currentSession(ctx);
    // The server's record ends, so any copy of this cookie is dead on every instance.
    if (signedIn) await deps.sessions.endSession(signedIn.user.id, signedIn.session.id);
    regenerateSession(ctx, {});
    ctx.status = 303;
    ctx.redirect('/login');
  });

  router.post('/sessions/revoke', deps.formBody, requireCsrf, async (ctx) => {
    const signedIn = await deps.currentSession(ctx);
    if (!signedIn) {
      ctx.status = 303;
      return ctx.redirect('/login');
    }
    const form = formOf(ctx);
    if (form.all === 'others') {
      await deps.sessions.disownOtherSessions(signedIn.user.id, signedIn.session);
    } else if (typeof form.session === 'string' && /^\d{1,12}$/.test(form.session)) {
      // Only the user's own sessions can match: another user's id ends nothing. The other browser
      // is told it was ended from another device; ending this very one is a logout, told nothing.
      const id = Number(form.session);
      await deps.sessions.disownSession(signedIn.user.id, id, id === signedIn.session.id ? 'logout' : 'revoked');
    } else {
      throw new BadRequestError('say which session: session=<id> or all=others');
    }
    ctx.status = 303;
    ctx.redirect('/profile');
  });
}
