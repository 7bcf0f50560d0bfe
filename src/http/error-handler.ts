import { AppError } from '../errors.js';
import type { AppContext, AppMiddleware } from './context.js';
import type { Render } from './render.js';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One JSON line per event on stderr; callers pass no secrets (no tokens, no codes, no keys). */
export function createConsoleLogger(quiet = false): Logger {
  const write = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    if (quiet && level !== 'error') return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}

/** True for requests that want JSON or plain text rather than a page. */
function wantsMachineAnswer(ctx: AppContext): boolean {
  return (
    ctx.path.startsWith('/api/') ||
    ctx.path === '/login/poll' ||
    ctx.path === '/healthz' ||
    ctx.path.startsWith('/wechat/') ||
    ctx.path.startsWith('/simulator/api/')
  );
}

/**
 * Registered first: maps AppError to its status, shows only exposed
 * messages, and turns anything unexpected into a plain 500 that is logged
 * with its stack but shows nothing internal.
 */
export function createErrorHandler(render: Render, logger: Logger): AppMiddleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, 'not_found', 'Not Found');
      }
    } catch (caught) {
      const known = caught instanceof AppError;
      // koa-body and raw-body raise http-errors with a status (413, 400, 415).
      const httpStatus = (caught as { status?: unknown; expose?: unknown })?.status;
      const status = known ? caught.status : typeof httpStatus === 'number' && httpStatus >= 400 && httpStatus < 500 ? 400 : 500;
      const code = known ? caught.code : status === 400 ? 'bad_request' : 'internal';
      if (status >= 500) {
        logger.error('request failed', {
          method: ctx.method,
          path: ctx.path,
          status,
          error: caught instanceof Error ? caught.stack ?? caught.message : String(caught),
        });
      }
      ctx.set('Cache-Control', 'no-store');
      if (ctx.path.startsWith('/wechat/') || ctx.path.startsWith('/MP_verify_')) {
        ctx.status = status;
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = code;
      } else if (wantsMachineAnswer(ctx)) {
        ctx.status = status;
        ctx.body = code === 'forbidden' ? { status: 'forbidden' } : { error: code };
      } else {
        render(ctx, 'error.njk', { status, message: ctx.state.t?.(code) ?? code }, status);
      }
    }
  };
}
