import type { Knex } from 'knex';

/**
 * Tokens that may be used once (the OAuth state): a cookie can be copied, so
 * "used" must be remembered on the server. Deleting the row is using it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('single_use_tokens', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.string('token_hash', 64).primary();
    table.string('purpose', 32).notNullable();
    table.datetime('expires_at', { precision: 3 }).notNullable();
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('single_use_tokens');
}
