import type { Knex } from 'knex';

/**
 * The way in a scene was shown with (`oa-qr`, `oa-code`; null for rows from
 * before, which were all QR codes), and for `oa-code` the sha256 of the code
 * the page shows: a text message with that code is the person's scan. Unique,
 * so one code names one scene; the raw code lives only on the page.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_scenes', (table) => {
    table.string('way', 16).nullable();
    table.string('code_hash', 64).nullable().unique();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_scenes', (table) => {
    table.dropUnique(['code_hash']);
    table.dropColumn('code_hash');
    table.dropColumn('way');
  });
}
