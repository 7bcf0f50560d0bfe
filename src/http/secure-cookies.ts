import type { AppMiddleware } from './context.js';

/**
 * PUBLIC_URL says people reach us over https: cookies are Secure even when a
 * proxy forgets X-Forwarded-Proto (or is not trusted with TRUST_PROXY).
 */
export const secureCookiesAlways: AppMiddleware = async (ctx, next) => {
  (ctx.cookies as unknown as { secure: boolean }).secure = true;
  return next();
};
