import type { Knex } from 'knex';

/**
 * The openid of the Open Platform website application (open-qr): a third
 * identity of the same person beside the Official Account's `openid` and the
 * mini-program's `mini_openid`, joined to them through `unionid` only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.string('open_openid', 64).nullable().unique();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (table) => {
    table.dropUnique(['open_openid']);
    table.dropColumn('open_openid');
  });
}
