import { NotFoundError, UnauthorizedError } from '../errors.js';
import type { AppRouter } from './context.js';
import { textEquals } from '../security/constant-time.js';
import type { Metrics } from '../metrics/metrics.js';

export interface MetricsRouteDeps {
  metrics: Metrics;
  /** METRICS_TOKEN: when set, the scraper must send it as a Bearer token. */
  token?: string;
  production: boolean;
}

/**
 * GET /metrics in Prometheus text format (README). With METRICS_TOKEN a
 * Bearer token is required; without one it is open in development and does
 * not exist in production (404), so that a forgotten token never publishes
 * the numbers.
 */
export function metricsRoutes(router: AppRouter, deps: MetricsRouteDeps): void {
  router.get('/metrics', async (ctx) => {
    if (deps.token === undefined) {
      if (deps.production) throw new NotFoundError();
    } else {
      const given = /^Bearer (.+)$/i.exec(ctx.get('authorization'))?.[1];
      if (!textEquals(deps.token, given)) {
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
        throw new UnauthorizedError('metrics need the METRICS_TOKEN bearer token', 'unauthorized');
      }
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
}
