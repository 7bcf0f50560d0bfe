import { AppError } from '../errors.js';
import type { AppMiddleware } from './context.js';
import { wechatErrorAsAppError } from './wechat-errors.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Times every POST to the callback and counts the refused ones (4xx) by
 * reason: the error's code (`invalid_signature`, `stale_timestamp`,
 * `malformed_xml`, …), or `too_large` for a body over the limit. Sits just
 * inside the error handler, so it sees the typed error before it becomes a
 * status (a codec's CallbackRejectedError is read through the same mapping
 * as the handler's); the callback routes themselves stay free of metrics.
 */
export function createCallbackMetrics(metrics: Metrics, callbackPath: string): AppMiddleware {
  return async (ctx, next) => {
    if (ctx.path !== callbackPath) return next();
    const stopTimer = ctx.method === 'POST' ? metrics.callbackDuration.startTimer() : undefined;
    try {
      await next();
    } catch (error) {
      const reason = refusalReason(error);
      if (reason) metrics.refusedCallbacks.inc({ reason });
      throw error;
    } finally {
      stopTimer?.();
    }
  };
}

function refusalReason(thrown: unknown): string | undefined {
  const error = wechatErrorAsAppError(thrown, true);
  if (error instanceof AppError) return error.status >= 400 && error.status < 500 ? error.code : undefined;
  // raw-body and koa-body raise http-errors: 413 for a body over the limit, 400 for a broken one.
  const status = (error as { status?: unknown } | null)?.status;
  if (status === 413) return 'too_large';
  return typeof status === 'number' && status >= 400 && status < 500 ? 'bad_request' : undefined;
}
