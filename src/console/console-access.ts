import { NotFoundError } from '../errors.js';
import type { AppContext, AppMiddleware } from '../http/context.js';
import type { CurrentSession } from '../login/session/current-user.js';
import type { SignedIn } from '../login/session/session-store.js';

/** How recent the login of an admin's session must be, confirmed on the phone (CONTRACT.md "Operator console"). */
export const freshConfirmationMs = 15 * 60 * 1000;

/** The admin behind a console request, once `requireConsoleAdmin` let it through. */
export const adminOf = (ctx: AppContext): SignedIn => ctx.state.admin as SignedIn;

/**
 * Who may use /admin: a signed-out visitor is sent to log in (confirmed on the phone); a signed-in
 * user who is not an admin gets 404 (the console is not admitted to exist);
 * an admin whose session did not begin with a login confirmed on the phone
 * in the last 15 minutes is sent to log in again with a confirmation
 * required, whatever LOGIN_CONFIRM says, and comes back here.
 */
export function requireConsoleAdmin(deps: { currentSession: CurrentSession; now: () => number }): AppMiddleware {
  return async (ctx, next) => {
    const signedIn = await deps.currentSession(ctx);
    const back = encodeURIComponent(ctx.method === 'GET' ? ctx.originalUrl : '/admin');
    // Signed out, the visitor logs in with the confirmation the console needs, so that an admin logs in once (a
    // plain login on a known device would be sent back for it); the page is the login page for anyone.
    const confirmedLogin = `/login?fresh=1&confirm=1&next=${back}`;
    if (!signedIn) {
      ctx.status = 303;
      return ctx.redirect(confirmedLogin);
    }
    if (!signedIn.user.isAdmin) throw new NotFoundError();
    const confirmedAt = signedIn.session.confirmedAt?.getTime();
    if (confirmedAt === undefined || deps.now() - confirmedAt > freshConfirmationMs) {
      ctx.status = 303;
      return ctx.redirect(confirmedLogin);
    }
    ctx.state.admin = signedIn;
    // Nothing of the console is kept by a browser or a proxy.
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
