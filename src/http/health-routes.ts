import type { AppRouter } from './context.js';
import type { Knex } from 'knex';
import { NotFoundError } from '../errors.js';

/** `/healthz` (the database answers) and the MP_verify domain-verification file. */
export function healthRoutes(router: AppRouter, deps: { knex: Knex; mpVerify?: string }): void {
  router.get('/healthz', async (ctx) => {
    try {
      await deps.knex.raw('select 1');
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable' };
    }
  });

  router.get(/^\/MP_verify_([A-Za-z0-9]+)\.txt$/, (ctx) => {
    const code = ctx.path.slice('/MP_verify_'.length, -'.txt'.length);
    if (!deps.mpVerify || code !== deps.mpVerify) throw new NotFoundError();
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = code;
  });
}
