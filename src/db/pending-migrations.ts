import type { Knex } from 'knex';
import { createMigrationSource } from './knex.js';

export type PendingMigrations = () => Promise<string[]>;

/**
 * The migrations this build has that the database has not run, by name.
 * Read-only: knex's own `migrate.list()` creates its bookkeeping tables on
 * an empty database, and a readiness probe must not write. Once nothing is
 * pending, nothing can become pending while this process runs, so the
 * answer is kept and later calls cost no query.
 */
export function createPendingMigrations(knex: Knex, source = createMigrationSource()): PendingMigrations {
  let upToDate = false;
  return async () => {
    if (upToDate) return [];
    const known = (await source.getMigrations([])).map((file) => source.getMigrationName(file));
    const ran = (await knex.schema.hasTable('knex_migrations'))
      ? new Set((await knex('knex_migrations').select('name')).map((row: { name: string }) => row.name))
      : new Set<string>();
    const pending = known.filter((name) => !ran.has(name));
    upToDate = pending.length === 0;
    return pending;
  };
}
