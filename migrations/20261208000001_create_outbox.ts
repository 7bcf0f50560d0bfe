import type { Knex } from 'knex';

/**
 * The outbox: messages to other systems (logout tokens to applications, and
 * webhooks), written in the same transaction as the change they report and
 * sent afterwards by a worker, with retries, from whichever instance claims
 * them first. `oidc_grant_sessions` learns which application and which of
 * its sessions (`sid`) a grant belongs to, so that the end of one of our
 * sessions can be told to every application that logged in under it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (table) => {
    if (knex.client.config.client === 'mysql2') table.charset('utf8mb4');
    table.bigIncrements('id').primary();
    // What sends it ('backchannel-logout', 'webhook') and to whom (a client_id, a hook).
    table.string('channel', 32).notNullable();
    table.string('target', 191).notNullable();
    // Messages of one key (a user) reach one target in the order they were written.
    table.string('ordering_key', 64).notNullable();
    // Kept across retries (a webhook's webhook-id).
    table.string('message_id', 64).notNullable();
    table.text('payload').notNullable();
    // pending → delivered | failed (given up after a day) | dropped (its target is no longer configured).
    table.string('state', 16).notNullable().defaultTo('pending');
    table.integer('attempts').unsigned().notNullable().defaultTo(0);
    table.bigInteger('created_at_ms').notNullable();
    table.bigInteger('next_attempt_at_ms').notNullable();
    // Claimed by an instance until then: another instance takes it over only after.
    table.bigInteger('lease_until_ms').nullable();
    table.bigInteger('finished_at_ms').nullable();
    table.string('last_error', 300).nullable();
    table.index(['state', 'next_attempt_at_ms']);
    table.index(['channel', 'target', 'ordering_key', 'state']);
  });
  await knex.schema.alterTable('oidc_grant_sessions', (table) => {
    // Set for a client with a backchannel_logout_uri: who to tell, about whom, and which of its sessions.
    table.string('client_id', 128).nullable();
    table.string('account_id', 32).nullable();
    table.string('logout_sid', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_grant_sessions', (table) => {
    table.dropColumn('client_id');
    table.dropColumn('account_id');
    table.dropColumn('logout_sid');
  });
  await knex.schema.dropTable('outbox');
}
