import type { Knex } from 'knex';

/**
 * Which of our signed-in sessions each OpenID Connect grant was given under.
 * A grant (and every code, access token and refresh token issued from it) is
 * good only while that session is: ended in any way (logout, revoked, the
 * notice's link, unfollow, admin, idle or past its lifetime), the grant is dead.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_grant_sessions', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      // Binary, as oidc_payloads: grant ids are case-sensitive.
      table.collate('utf8mb4_bin');
    }
    table.string('grant_id', 191).primary();
    table.integer('user_session_id').unsigned().notNullable().references('id').inTable('user_sessions').onDelete('CASCADE');
    table.index(['user_session_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_grant_sessions');
}
