import type { Knex } from 'knex';

/**
 * Signed-in sessions, on the server, so that a logout ends them for real: the
 * cookie carries only a random token, and only its sha256 is stored here.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_sessions', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.increments('id').primary();
    table.string('token_hash', 64).notNullable().unique();
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.string('method', 16).notNullable();
    // An IPv6 address in text is at most 45 characters.
    table.string('ip', 45).notNullable();
    table.string('user_agent', 512).notNullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.datetime('last_seen_at', { precision: 3 }).notNullable();
    table.datetime('expires_at', { precision: 3 }).notNullable();
    table.datetime('revoked_at', { precision: 3 }).nullable();
    table.index(['user_id', 'revoked_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_sessions');
}
