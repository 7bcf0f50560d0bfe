import type { Knex } from 'knex';

/**
 * One row per person. `openid` is the Official Account's openid and
 * `mini_openid` the mini-program's; either may be missing when the person has
 * only used the other. `unionid` links the two when WeChat gives one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_unicode_ci');
    }
    table.increments('id').primary();
    table.string('openid', 64).nullable().unique();
    table.string('mini_openid', 64).nullable().unique();
    table.string('unionid', 64).nullable().index();
    table.string('phone', 20).nullable().unique();
    // The scene of the user's latest scan; unique so that one QR code can never log in two people.
    table.string('tmp_scene_str', 64).nullable().unique();
    table.datetime('last_login_time', { precision: 3 }).nullable();
    table.string('nickname', 64).nullable();
    table.string('avatar_url', 512).nullable();
    table.boolean('subscribed').notNullable().defaultTo(false);
    // Raised to revoke every session of the user (unfollowing the account, for one).
    table.integer('session_version').notNullable().defaultTo(0);
    table.datetime('created_at', { precision: 3 }).notNullable();
    table.datetime('updated_at', { precision: 3 }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
