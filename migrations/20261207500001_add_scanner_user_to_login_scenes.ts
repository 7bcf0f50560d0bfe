import type { Knex } from 'knex';

/**
 * Who scanned a mini-program code (miniprogram-code): a user, known by id,
 * since the mini-program's openid is another column than the Official
 * Account's (scanner_openid). The ticket the mini-program holds is kept like
 * a confirm link's token (token_hash), and its number may be null: a
 * mini-program confirmation is a tap, with numbers only when LOGIN_CONFIRM asks.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_scenes', (table) => {
    table.integer('scanner_user_id').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_scenes', (table) => {
    table.dropColumn('scanner_user_id');
  });
}
