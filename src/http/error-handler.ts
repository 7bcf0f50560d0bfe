import { AppError } from '../errors.js';
import type { AppContext, AppMiddleware } from './context.js';
import type { Render } from './render.js';
import { wechatErrorAsAppError } from './wechat-errors.js';
import type { Logger } from '../logging/logger.js';

const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'SQLITE_BUSY', 'SQLITE_CANTOPEN']);

/**
 * The database cannot be reached right now (as opposed to a bug): answered
 * 503, so that WeChat retries the callback and the polling script backs off.
 */
function isDatabaseUnavailable(error: unknown): boolean {
  const { code, name, message } = (error ?? {}) as { code?: string; name?: string; message?: string };
  return (code !== undefined && connectionErrorCodes.has(code)) || name === 'KnexTimeoutError' || /Timeout acquiring a connection/.test(message ?? '');
}

/** Where an error page's "try again" leads: the start of the login that failed. */
const retryHrefs: Record<string, string> = { oauth_code: '/auth/wechat', open_code: '/auth/wechat/open', open_refused: '/auth/wechat/open', open_state: '/auth/wechat/open' };

/** True for requests that want JSON or plain text rather than a page. */
function wantsMachineAnswer(ctx: AppContext): boolean {
  return (
    ctx.path.startsWith('/api/') ||
    ctx.path === '/login/poll' ||
    ctx.path === '/healthz' ||
    ctx.path === '/readyz' ||
    ctx.path === '/metrics' ||
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
    } catch (thrown) {
      const caught = wechatErrorAsAppError(thrown, wantsMachineAnswer(ctx));
      const known = caught instanceof AppError;
      // koa-body and raw-body raise http-errors with a status (413, 400, 415).
      const httpStatus = (caught as { status?: unknown; expose?: unknown })?.status;
      const databaseDown = !known && isDatabaseUnavailable(caught);
      const status = known
        ? caught.status
        : databaseDown
          ? 503
          : typeof httpStatus === 'number' && httpStatus >= 400 && httpStatus < 500
            ? 400
            : 500;
      const code = known ? caught.code : databaseDown ? 'service_unavailable' : status === 400 ? 'bad_request' : 'internal';
      if (status >= 500) {
        logger.error('request failed', {
          method: ctx.method,
          path: ctx.path,
          status,
          error: caught instanceof Error ? caught.stack ?? caught.message : String(caught),
        });
      }
      ctx.set('Cache-Control', 'no-store');
      // An unread body (too large, say) leaves the connection unusable: tell the client not to reuse it.
      if (!ctx.req.complete) ctx.set('Connection', 'close');
      if (ctx.path.startsWith('/wechat/') || ctx.path.startsWith('/MP_verify_')) {
        ctx.status = status;
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = code;
      } else if (wantsMachineAnswer(ctx)) {
        ctx.status = status;
        ctx.body = code === 'forbidden' ? { status: 'forbidden' } : { error: code };
      } else {
        // A WeChat code that no longer works (or a login refused on the phone): starting that login again gets a fresh one.
        const retryHref = retryHrefs[code];
        render(ctx, 'error.njk', { status, message: ctx.state.t?.(code, known ? caught.params : undefined) ?? code, retryHref }, status);
      }
    }
  };
}
