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

export const securityHeaders: AppMiddleware = async (ctx, next) => {
  ctx.set('Content-Security-Policy', contentSecurityPolicy);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('X-Content-Type-Options', 'nosniff');
  return next();
};
