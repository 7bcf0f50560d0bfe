import type { Knex } from 'knex';

/** The browsers each user has completed a login in: LOGIN_CONFIRM=new-device skips the confirmation for them. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('known_devices', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.increments('id').primary();
    table.integer('user_id').unsigned().notNullable().references('id').inTable('users').onDelete('CASCADE');
    /** sha256 of the device cookie's id. */
    table.string('device_hash', 64).notNullable();
    table.bigInteger('first_seen_at_ms').notNullable();
    table.bigInteger('last_seen_at_ms').notNullable();
    table.unique(['user_id', 'device_hash']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('known_devices');
}
