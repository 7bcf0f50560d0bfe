import type { AppRouter } from './context.js';
import type { Knex } from 'knex';
import { NotFoundError } from '../errors.js';

/** A dependency that does not answer within this time counts as down: a probe must answer quickly itself. */
const readinessCheckTimeoutMs = 2000;

export interface HealthRouteDeps {
  knex: Knex;
  /** The Redis connection, when REDIS_URL is set. */
  redis?: { ping(): Promise<unknown> };
  /** True while shutting down: the balancer should stop sending new requests here. */
  draining?: () => boolean;
  mpVerify?: string;
  /** The migrations the database has not run yet (db/pending-migrations.ts). */
  pendingMigrations?: () => Promise<string[]>;
}

type DependencyState = 'up' | 'down' | 'not_configured';

/**
 * `/healthz` (liveness: the database answers), `/readyz` (readiness: the
 * database answers and is migrated, and the server is not shutting down)
 * and the MP_verify domain-verification file. Redis is not needed to serve
 * logins (each instance falls back to its own memory and database checks),
 * so a Redis that does not answer makes the server "degraded", still ready.
 */
export function healthRoutes(router: AppRouter, deps: HealthRouteDeps): void {
  router.get('/healthz', async (ctx) => {
    try {
      await deps.knex.raw('select 1');
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable' };
    }
  });

  router.get('/readyz', async (ctx) => {
    const [database, redis] = await Promise.all([
      probe(() => deps.knex.raw('select 1')),
      deps.redis ? probe(() => deps.redis!.ping()) : Promise.resolve<DependencyState>('not_configured'),
    ]);
    const pending = database === 'up' && deps.pendingMigrations ? await pendingOrUnknown(deps.pendingMigrations) : [];
    const draining = deps.draining?.() ?? false;
    const ready = database === 'up' && pending.length === 0 && !draining;
    const status = draining ? 'draining' : !ready ? 'unavailable' : redis === 'down' ? 'degraded' : 'ready';
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = pending.length > 0 ? { status, checks: { database, redis }, pendingMigrations: pending } : { status, checks: { database, redis } };
  });

  router.get(/^\/MP_verify_([A-Za-z0-9]+)\.txt$/, (ctx) => {
    const code = ctx.path.slice('/MP_verify_'.length, -'.txt'.length);
    if (!deps.mpVerify || code !== deps.mpVerify) throw new NotFoundError();
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = code;
  });
}

async function probe(check: () => Promise<unknown>): Promise<DependencyState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), readinessCheckTimeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/** The pending migrations; a failure to read them counts as "not known to be migrated". */
async function pendingOrUnknown(pendingMigrations: () => Promise<string[]>): Promise<string[]> {
  try {
    return await pendingMigrations();
  } catch {
    return ['(could not read knex_migrations)'];
  }
}
