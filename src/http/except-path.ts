import type { AppMiddleware } from './context.js';

/**
 * Runs `middleware` for every request except those to `path`. WeChat's
 * callback carries no cookie and renders no page, so the session and the
 * language middleware only cost it time (koa-session still looks for the
 * cookie and wraps the response on every request it sees).
 */
export function exceptPath(path: string, middleware: AppMiddleware): AppMiddleware {
  return (ctx, next) => (ctx.path === path ? next() : middleware(ctx, next));
}
