import type { Knex } from 'knex';

/**
 * The OpenID Provider's signing keys, encrypted with a key derived from
 * SESSION_KEYS. The newest generation signs; the one before it is still
 * published, so tokens signed before a rotation keep verifying.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_signing_keys', (table) => {
    if (knex.client.config.client === 'mysql2') {
      table.charset('utf8mb4');
      table.collate('utf8mb4_bin');
    }
    table.increments('id').primary();
    /** 1, 2, 3, …: unique, so two servers starting (or rotating) at once cannot both add the same generation. */
    table.integer('generation').notNullable().unique();
    table.string('kid', 64).notNullable();
    table.string('alg', 16).notNullable();
    /** base64url(iv).base64url(tag).base64url(AES-256-GCM ciphertext of the private JWK). */
    table.text('encrypted_jwk').notNullable();
    table.bigInteger('created_at_ms').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_signing_keys');
}
