import { timingSafeEqual } from 'node:crypto';
import { ForbiddenError } from '../errors.js';
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
  if (!tokensMatch(expected, given)) throw new ForbiddenError('missing or wrong CSRF token', 'csrf');
  return next();
};

export function csrfToken(ctx: AppContext): string {
  return sessionOf(ctx).csrf!;
}

function tokensMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
