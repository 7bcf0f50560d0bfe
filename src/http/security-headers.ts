import type { AppMiddleware } from './context.js';

/**
 * No inline script anywhere (the polling script is a file), no framing
 * (clickjacking a QR page would let someone else's scan log in a framed
 * victim), and no full URLs leaked in Referer.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** A year, the usual HSTS lifetime. */
const hstsMaxAgeSeconds = 365 * 24 * 60 * 60;

/** `https`: the site is served over TLS (PUBLIC_URL), so browsers are told never to use plain http for it (HSTS). */
export function createSecurityHeaders(options: { https: boolean }): AppMiddleware {
  return async (ctx, next) => {
    if (options.https) ctx.set('Strict-Transport-Security', `max-age=${hstsMaxAgeSeconds}`);
    return securityHeaders(ctx, next);
  };
}

const securityHeaders: AppMiddleware = async (ctx, next) => {
  ctx.set('Content-Security-Policy', contentSecurityPolicy);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('X-Content-Type-Options', 'nosniff');
  return next();
};
