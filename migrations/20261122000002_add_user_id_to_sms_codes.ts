import type { Knex } from 'knex';

/**
 * A code belongs to the user who asked for it and the phone it went to, so
 * that nobody else can spend its attempts. Old rows (no user) are dead anyway:
 * they live 5 minutes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sms_codes', (table) => {
    table.integer('user_id').unsigned().nullable().references('id').inTable('users').onDelete('CASCADE');
    table.index(['user_id', 'phone', 'purpose', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sms_codes', (table) => {
    table.dropForeign(['user_id']);
    table.dropIndex(['user_id', 'phone', 'purpose', 'created_at']);
    table.dropColumn('user_id');
  });
}
