import type { Knex } from 'knex';

/**
 * The minute's sweep that ends idle and worn-out sessions (so that their end
 * is told to applications) finds them through these two indexes instead of
 * reading the whole table. Sessions past their absolute lifetime before the
 * sweep existed are marked ended here, once: nobody is told (they predate
 * back-channel logout), and the sweep starts with no backlog of them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_sessions', (table) => {
    table.index(['revoked_at', 'expires_at']);
    table.index(['revoked_at', 'last_seen_at']);
  });
  await knex('user_sessions').whereNull('revoked_at').andWhere('expires_at', '<=', new Date()).update({ revoked_at: new Date(), end_reason: 'expired' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_sessions', (table) => {
    table.dropIndex(['revoked_at', 'expires_at']);
    table.dropIndex(['revoked_at', 'last_seen_at']);
  });
}
