import { ForbiddenError } from '../errors.js';
import { textEquals } from './constant-time.js';
import type { AppContext, AppMiddleware } from './context.js';
import { sessionOf } from './session.js';

/**
 * Checks the CSRF token on a state-changing request: the `_csrf` form field,
 * or the `x-csrf-token` header for scripts. Must run after the body parser.
 */
export const requireCsrf: AppMiddleware = async (ctx, next) => {
  const expected = sessionOf(ctx).csrf!;
  const body = (ctx.request as { body?: Record<string, unknown> }).body;
  const given = ctx.get('x-csrf-token') || (typeof body?._csrf === 'string' ? body._csrf : '');
  if (!textEquals(expected, given)) throw new ForbiddenError('missing or wrong CSRF token', 'csrf');
  return next();
};

export function csrfToken(ctx: AppContext): string {
  return sessionOf(ctx).csrf!;
}
