import type { Knex } from 'knex';

/**
 * One row per phone and purpose: until when the next code may not be sent.
 * Claiming the slot is one conditional UPDATE, or an INSERT that the primary
 * key arbitrates, so parallel requests cannot send two codes in one interval.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sms_send_slots', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.string('phone', 20).notNullable();
    table.string('purpose', 16).notNullable();
    table.datetime('blocked_until', { precision: 3 }).notNullable();
    table.primary(['phone', 'purpose']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sms_send_slots');
}
