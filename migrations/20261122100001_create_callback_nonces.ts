import type { Knex } from 'knex';

/**
 * The (timestamp, nonce) pairs of WeChat callbacks, each with a hash of the
 * body it came with, kept while the timestamp is within the accepted window.
 * Used when Redis is not configured (or is away). Expired rows are swept by
 * the server now and then, through the index on `expires_at`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('callback_nonces', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    // sha256 hex of timestamp and nonce: fixed length, whatever the nonce holds.
    table.string('pair_hash', 64).primary();
    table.string('body_hash', 64).notNullable();
    table.datetime('expires_at', { precision: 3 }).notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('callback_nonces');
}
