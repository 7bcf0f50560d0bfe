import { ForbiddenError } from '../errors.js';
import { textEquals } from '../security/constant-time.js';
import type { AppContext, AppMiddleware } from './context.js';
import { formOf } from './form.js';
import { sessionOf } from './cookie-session.js';

/**
 * Checks the CSRF token on a state-changing request: the `_csrf` form field,
 * or the `x-csrf-token` header for scripts. Must run after the body parser.
 */
export const requireCsrf: AppMiddleware = async (ctx, next) => {
  const expected = sessionOf(ctx).csrf!;
  const given = ctx.get('x-csrf-token') || formOf(ctx)._csrf;
  if (!textEquals(expected, given)) throw new ForbiddenError('missing or wrong CSRF token', 'csrf');
  return next();
};

export function csrfToken(ctx: AppContext): string {
  return sessionOf(ctx).csrf!;
}
