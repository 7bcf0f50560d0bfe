import type { Knex } from 'knex';

/** What oidc-provider stores for one model instance (a code, a token, a session…). */
export type AdapterPayload = Record<string, unknown> & { grantId?: string; uid?: string; userCode?: string; consumed?: unknown };

/** The storage interface oidc-provider calls (its `adapter` configuration), one instance per model name. */
export interface OidcAdapter {
  upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface KnexAdapterDeps {
  knex: Knex;
  /** Builds the error a lost consume race answers with (oidc-provider's InvalidGrant). */
  alreadyConsumed: () => Error;
  now?: () => number;
}

const table = 'oidc_payloads';

/**
 * oidc-provider's storage in our database (SQLite or MariaDB), so that every
 * server instance sees the same codes, tokens and sessions. Consuming is one
 * conditional UPDATE: of two requests redeeming the same code at once, on one
 * instance or two, exactly one wins; the other is refused and, as RFC 6749
 * §4.1.2 asks, the tokens already issued from that code are revoked.
 */
export function createKnexAdapterFactory(deps: KnexAdapterDeps): (kind: string) => OidcAdapter {
  const { knex } = deps;
  const now = deps.now ?? Date.now;

  const live = (query: Knex.QueryBuilder) =>
    query.where((where) => where.whereNull('expires_at_ms').orWhere('expires_at_ms', '>', now()));

  const payloadOf = (row: { payload: string; consumed_at_ms: number | string | null } | undefined): AdapterPayload | undefined => {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    return row.consumed_at_ms === null ? payload : { ...payload, consumed: Math.floor(Number(row.consumed_at_ms) / 1000) };
  };

  return (kind) => ({
    async upsert(id, payload, expiresIn) {
      const row = {
        kind,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        user_code: payload.userCode ?? null,
        expires_at_ms: expiresIn ? now() + expiresIn * 1000 : null,
      };
      await knex(table).insert({ ...row, consumed_at_ms: null }).onConflict(['kind', 'id']).merge(row);
    },

    async find(id) {
      return payloadOf(await live(knex(table).select('payload', 'consumed_at_ms').where({ kind, id })).first());
    },

    async findByUid(uid) {
      return payloadOf(await live(knex(table).select('payload', 'consumed_at_ms').where({ kind, uid })).first());
    },

    async findByUserCode(userCode) {
      return payloadOf(await live(knex(table).select('payload', 'consumed_at_ms').where({ kind, user_code: userCode })).first());
    },

    async consume(id) {
      const claimed = await knex(table).where({ kind, id }).whereNull('consumed_at_ms').update({ consumed_at_ms: now() });
      if (claimed === 1) return;
      // Someone else consumed it between the provider's read and this write: a replay racing the real redemption.
      const row = await knex(table).select('grant_id').where({ kind, id }).first();
      if (row?.grant_id) await knex(table).where({ grant_id: row.grant_id }).delete();
      throw deps.alreadyConsumed();
    },

    async destroy(id) {
      await knex(table).where({ kind, id }).delete();
    },

    async revokeByGrantId(grantId) {
      await knex(table).where({ kind, grant_id: grantId }).delete();
    },
  });
}

/** Deletes rows whose lifetime is over (the provider never reads them again). */
export async function deleteExpiredOidcPayloads(knex: Knex, at = Date.now()): Promise<number> {
  return knex(table).where('expires_at_ms', '<=', at).delete();
}
