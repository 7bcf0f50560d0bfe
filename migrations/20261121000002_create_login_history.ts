import type { Knex } from 'knex';

/** One row per completed login. The unique scene makes each QR code log in at most once. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('login_history', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.increments('id').primary();
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    table.string('method', 16).notNullable();
    table.string('ip', 64).notNullable();
    table.string('user_agent', 512).notNullable();
    table.string('scene', 64).nullable().unique();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.index(['user_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('login_history');
}
