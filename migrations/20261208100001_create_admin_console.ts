import type { Knex } from 'knex';

/**
 * The operator console (/admin): who is an admin (granted by the CLI), who is
 * blocked, which sessions began with a login confirmed on the phone (the
 * console asks for one made in the last 15 minutes), scenes that must be
 * confirmed whatever LOGIN_CONFIRM says, the log of every admin action, and
 * the SMS refusals that the dashboard counts across instances.
 */
export async function up(knex: Knex): Promise<void> {
  const mysql = knex.client.config.client === 'mysql2';
  await knex.schema.alterTable('users', (table) => {
    table.boolean('is_admin').notNullable().defaultTo(false);
    table.datetime('blocked_at', { precision: 3 }).nullable();
  });
  await knex.schema.alterTable('user_sessions', (table) => {
    table.datetime('confirmed_at', { precision: 3 }).nullable();
  });
  await knex.schema.alterTable('login_scenes', (table) => {
    table.boolean('confirm_required').notNullable().defaultTo(false);
    // Set when the scanner approved on the phone (a scan approved at once has only decided_at_ms).
    table.bigInteger('confirmed_at_ms').nullable();
  });
  await knex.schema.createTable('admin_actions', (table) => {
    if (mysql) table.charset('utf8mb4');
    table.increments('id').primary();
    // The admin's user, from the console; null from the command line, whose operator is `actor`.
    table.integer('admin_user_id').unsigned().nullable();
    table.string('actor', 64).notNullable().defaultTo('');
    table.string('action', 32).notNullable();
    table.integer('target_user_id').unsigned().nullable();
    table.string('detail', 255).notNullable().defaultTo('');
    table.string('ip', 64).notNullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.index(['created_at']);
    table.index(['target_user_id']);
  });
  // The dashboard counts logins and SMS by time, over everyone.
  await knex.schema.alterTable('login_history', (table) => table.index(['created_at']));
  await knex.schema.alterTable('sms_codes', (table) => table.index(['created_at']));
  await knex.schema.createTable('sms_refusals', (table) => {
    if (mysql) table.charset('utf8mb4');
    table.increments('id').primary();
    table.string('reason', 32).notNullable();
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sms_refusals');
  await knex.schema.alterTable('sms_codes', (table) => table.dropIndex(['created_at']));
  await knex.schema.alterTable('login_history', (table) => table.dropIndex(['created_at']));
  await knex.schema.dropTable('admin_actions');
  await knex.schema.alterTable('login_scenes', (table) => {
    table.dropColumn('confirm_required');
    table.dropColumn('confirmed_at_ms');
  });
  await knex.schema.alterTable('user_sessions', (table) => table.dropColumn('confirmed_at'));
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('is_admin');
    table.dropColumn('blocked_at');
  });
}
