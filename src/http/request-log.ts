import type { AppContext, AppMiddleware } from './context.js';
import type { Logger } from '../logging/logger.js';
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
    // Read now: the OpenID Provider's mount rewrites the URL below its mount point.
    const asked = { path: ctx.path, query: withoutSecrets(ctx.query) };
    ctx.set('X-Request-Id', requestId);
    try {
      await runInRequestContext({ requestId }, next);
    } finally {
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      const line = accessLine(ctx, requestId, asked, Math.round(durationMs * 10) / 10);
      if (probePaths.has(asked.path)) logger.debug?.('request', line);
      else logger.info('request', line);
    }
  };
}

function accessLine(ctx: AppContext, requestId: string, asked: { path: string; query: Record<string, unknown> }, durationMs: number): Record<string, unknown> {
  return {
    requestId,
    method: ctx.method,
    // The route pattern (`/login/poll`), so that lines group by endpoint; unmatched paths stay visible as `path`.
    route: (ctx as unknown as { _matchedRoute?: string | RegExp })._matchedRoute?.toString() ?? null,
    path: asked.path,
    status: ctx.status,
    durationMs,
    ip: ctx.ip,
    query: asked.query,
    headers: { ...ctx.headers, ...(ctx.headers.referer ? { referer: withoutQuery(ctx.headers.referer) } : {}) },
  };
}

/**
 * Query names that carry something secret, today's and tomorrow's: OAuth codes and states, one-time
 * tokens (`t`), tickets, `id_token_hint`, `refresh_token`, `code_verifier`, signatures, echostr, nonces.
 * Matched by name, so a parameter added later is covered without a list to keep; pino's `redactedPaths`
 * stays as the second line.
 */
const secretName = /code|token|ticket|state|secret|signature|echostr|hint|password|nonce|verifier|key|^t$/i;

function withoutSecrets(query: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(query).map(([name, value]) => [
      name,
      // A URL passed as a value (the simulator's `url`, OIDC's `redirect_uri`, a `next`) carries its own query.
      secretName.test(name) ? '[redacted]' : typeof value === 'string' ? withoutQuery(value) : value,
    ]),
  );
}

/**
 * The page a request came from, without its query or fragment: a stylesheet or favicon requested by the
 * confirm page or the OAuth return carries that page's whole URL, token and code included (issue 26).
 */
function withoutQuery(referer: string): string {
  const cut = referer.search(/[?#]/);
  return cut === -1 ? referer : `${referer.slice(0, cut)}?[redacted]`;
}
