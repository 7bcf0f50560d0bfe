import type { Knex } from 'knex';

/**
 * One row per login QR scene issued while LOGIN_CONFIRM is on: which browser
 * asked for it (the scan's callback does not carry the browser's cookie), and
 * the confirmation that follows a scan: scanner, number, token hash, state.
 * Times are epoch milliseconds, so MySQL and SQLite compare them alike.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('login_scenes', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.increments('id').primary();
    table.string('scene', 64).notNullable().unique();
    /** sha256 of the browser's device id (the raw id lives only in its cookie). */
    table.string('device_hash', 64).notNullable();
    table.string('user_agent', 512).notNullable();
    table.string('ip', 64).notNullable();
    table.bigInteger('created_at_ms').notNullable();
    table.bigInteger('expires_at_ms').notNullable().index();
    /** waiting → scanned (confirmation asked) → approved | denied; or waiting → approved (no confirmation needed). */
    table.string('state', 16).notNullable();
    table.string('scanner_openid', 64).nullable();
    table.string('number', 2).nullable();
    table.string('token_hash', 64).nullable().unique();
    table.bigInteger('token_expires_at_ms').nullable();
    table.bigInteger('decided_at_ms').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('login_scenes');
}
