import type { Knex } from 'knex';

/**
 * What the OpenID Provider (oidc-provider) stores: sessions, interactions,
 * grants, authorization codes, access and refresh tokens. One row per model
 * instance, keyed by (kind, id); the payload is the provider's own JSON.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_payloads', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      // Binary: token ids are case-sensitive, "abc" must never find "ABC".
      table.collate('utf8mb4_bin');
    }
    /** The provider's model name: Session, Grant, AuthorizationCode, AccessToken, RefreshToken, Interaction, … */
    table.string('kind', 48).notNullable();
    table.string('id', 191).notNullable();
    table.text('payload', 'mediumtext').notNullable();
    table.string('grant_id', 191).nullable().index();
    table.string('uid', 191).nullable().index();
    table.string('user_code', 191).nullable().index();
    table.bigInteger('expires_at_ms').nullable().index();
    table.bigInteger('consumed_at_ms').nullable();
    table.primary(['kind', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_payloads');
}
