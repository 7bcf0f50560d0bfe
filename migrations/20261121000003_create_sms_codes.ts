import type { Knex } from 'knex';

/** SMS verification codes, stored hashed, so that any server instance can check them. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sms_codes', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.increments('id').primary();
    table.string('phone', 20).notNullable();
    table.string('purpose', 16).notNullable();
    table.string('code_hash', 64).notNullable();
    table.integer('attempts').notNullable().defaultTo(0);
    table.datetime('expires_at', { precision: 3 }).notNullable();
    table.datetime('consumed_at', { precision: 3 }).nullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.index(['phone', 'purpose', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sms_codes');
}
