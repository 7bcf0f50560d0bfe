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

/**
 * `https`: the site is served over TLS (PUBLIC_URL), so browsers are told
 * never to use plain http for it (HSTS).
 * `simulatorFrames` (simulator mode only, never with real WeChat): a page
 * loaded into a frame (Sec-Fetch-Dest: iframe) may be framed by this same
 * origin, so that the simulator's phone shows the confirm page inside its
 * in-app browser. Other origins can never frame anything.
 */
export function createSecurityHeaders(options: { https: boolean; simulatorFrames: boolean; formActionOrigins?: string[]; imageOrigins?: string[] }): AppMiddleware {
  // Browsers apply form-action to the redirects after a form post too: the phone-binding form ends, through
  // the OpenID Provider, at a registered application's redirect_uri, so those origins (and only those) are allowed.
  const origins = [...new Set(options.formActionOrigins ?? [])].join(' ');
  const withForms = origins ? contentSecurityPolicy.replace("form-action 'self'", `form-action 'self' ${origins}`) : contentSecurityPolicy;
  // The account's follow QR image (WECHAT_ACCOUNT_QR_URL) lives on WeChat's image host, named by the operator.
  const images = [...new Set(options.imageOrigins ?? [])].join(' ');
  const pagePolicy = images ? withForms.replace("img-src 'self' data:", `img-src 'self' data: ${images}`) : withForms;
  const sameOriginPolicy = pagePolicy.replace("frame-ancestors 'none'", "frame-ancestors 'self'");
  return async (ctx, next) => {
    const framed = options.simulatorFrames && ctx.get('sec-fetch-dest') === 'iframe';
    if (options.https) ctx.set('Strict-Transport-Security', `max-age=${hstsMaxAgeSeconds}`);
    ctx.set('Content-Security-Policy', framed ? sameOriginPolicy : pagePolicy);
    ctx.set('X-Frame-Options', framed ? 'SAMEORIGIN' : 'DENY');
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('X-Content-Type-Options', 'nosniff');
    return next();
  };
}
