import type { Knex } from 'knex';

/**
 * Which browser session may complete a scene's login: the sha256 of the
 * session id that last showed its code. Showing a code rotates the session id
 * and moves the scene to the new one, so a copy of the cookie planted before
 * (session fixation) is left holding a scene it can no longer complete.
 * Null for rows from before (any session that holds the scene completes them).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_scenes', (table) => {
    table.string('owner_hash', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_scenes', (table) => {
    table.dropColumn('owner_hash');
  });
}
