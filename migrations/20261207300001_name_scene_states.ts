import type { Knex } from 'knex';

/**
 * `login_scenes` becomes the one record of every QR scene's state, whatever
 * LOGIN_CONFIRM says: issued → awaiting (the scanner must confirm) →
 * approved | denied, or issued → approved; approved → used when a login
 * completes with it. Expired is read from expires_at_ms. The old names
 * ("waiting", and "scanned" for awaiting a confirmation) are renamed: "scanned"
 * was a third meaning of the word next to the poll's status and the user's scan.
 * `used_at_ms`: when the login that used the scene completed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_scenes', (table) => {
    table.bigInteger('used_at_ms').nullable();
  });
  await knex('login_scenes').where({ state: 'waiting' }).update({ state: 'issued' });
  await knex('login_scenes').where({ state: 'scanned' }).update({ state: 'awaiting' });
}

export async function down(knex: Knex): Promise<void> {
  await knex('login_scenes').where({ state: 'issued' }).update({ state: 'waiting' });
  await knex('login_scenes').where({ state: 'awaiting' }).update({ state: 'scanned' });
  await knex('login_scenes').where({ state: 'used' }).update({ state: 'approved' });
  await knex.schema.alterTable('login_scenes', (table) => {
    table.dropColumn('used_at_ms');
  });
}
