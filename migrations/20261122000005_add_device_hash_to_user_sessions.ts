import type { Knex } from 'knex';

/**
 * Which browser (device cookie, hashed) a session was started in, so that
 * ending a session as "not me" also forgets that browser as a known device:
 * otherwise it would skip the confirmation on the phone at its next login.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_sessions', (table) => {
    table.string('device_hash', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_sessions', (table) => {
    table.dropColumn('device_hash');
  });
}
