import type { Knex } from 'knex';

/**
 * Why a session ended (`logout`, `revoked`, `end-link`, `unfollow`, `admin`),
 * so that a browser signed out from elsewhere is told why on its next page.
 * Null for live sessions and for those that ended before it was kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_sessions', (table) => {
    table.string('end_reason', 16).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_sessions', (table) => {
    table.dropColumn('end_reason');
  });
}
