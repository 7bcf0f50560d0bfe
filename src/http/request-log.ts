import type { AppContext, AppMiddleware } from './context.js';
import type { Logger } from './error-handler.js';
import { requestIdFrom, runInRequestContext } from '../logging/request-context.js';

/** Probes hit these every few seconds: their access lines are debug, so they do not drown the rest. */
const probePaths = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Registered first. Gives the request its id (a valid incoming `X-Request-Id`
 * is kept, README), echoes it on the response, serves the rest of the
 * request inside that id's context (so every line it causes carries the id),
 * and writes one access line when it is answered: method, route, status,
 * duration. Headers and query go in too; the logger redacts their secrets.
 *
 * A small middleware rather than koa-pino-logger/pino-http: those build
 * their own child logger per request and log from the raw `res`, where the
 * matched Koa route is unknown, while the parts built once at start (login
 * service, SMS sender, Redis) would still log without the id.
 */
export function createRequestLog(logger: Logger): AppMiddleware {
  return async (ctx, next) => {
    const startedAt = process.hrtime.bigint();
    const requestId = requestIdFrom(ctx.get('x-request-id') || undefined);
    ctx.set('X-Request-Id', requestId);
    try {
      await runInRequestContext({ requestId }, next);
    } finally {
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      const line = accessLine(ctx, requestId, Math.round(durationMs * 10) / 10);
      if (probePaths.has(ctx.path)) logger.debug?.('request', line);
      else logger.info('request', line);
    }
  };
}

function accessLine(ctx: AppContext, requestId: string, durationMs: number): Record<string, unknown> {
  return {
    requestId,
    method: ctx.method,
    // The route pattern (`/login/poll`), so that lines group by endpoint; unmatched paths stay visible as `path`.
    route: (ctx as unknown as { _matchedRoute?: string | RegExp })._matchedRoute?.toString() ?? null,
    path: ctx.path,
    status: ctx.status,
    durationMs,
    ip: ctx.ip,
    query: { ...ctx.query },
    headers: { ...ctx.headers },
  };
}
