import type { Knex } from 'knex';

/** The application session a grant belongs to, as a logout token names it. */
export interface GrantLogout {
  clientId: string;
  /** The `sub` of the application's ID tokens. */
  accountId: string;
  /** The `sid` of the application's ID tokens (oidc-provider's per-client session id). */
  sid: string;
}

/**
 * Data access for `oidc_grant_sessions`: the session of ours an OpenID
 * Connect grant was given under, and whether that session still lives.
 */
export function createOidcGrantSessionQueries(knex: Knex) {
  const table = () => knex('oidc_grant_sessions');

  /**
   * Ties `grantId` to `sessionId` (again, when the grant was saved again in
   * the same session). `logout` names whom to send a logout token when that
   * session ends: given for a client with a back-channel logout URI.
   */
  async function tieGrant(grantId: string, sessionId: number, logout?: GrantLogout): Promise<void> {
    const row = {
      grant_id: grantId,
      user_session_id: sessionId,
      client_id: logout?.clientId ?? null,
      account_id: logout?.accountId ?? null,
      logout_sid: logout?.sid ?? null,
    };
    await table().insert(row).onConflict('grant_id').merge(['user_session_id', 'client_id', 'account_id', 'logout_sid']);
  }

  /** The session `grantId` was given under, or undefined for a grant given under none we know. */
  async function sessionOfGrant(grantId: string): Promise<number | undefined> {
    const row = await table().where({ grant_id: grantId }).first('user_session_id');
    return row ? Number(row.user_session_id) : undefined;
  }

  /**
   * True while the session `grantId` was given under is live: not revoked,
   * not past its lifetime, not idle since `idleSince`. One indexed join.
   */
  async function grantSessionIsLive(grantId: string, now: Date, idleSince: Date): Promise<boolean> {
    const row = await table()
      .join('user_sessions', 'user_sessions.id', 'oidc_grant_sessions.user_session_id')
      .where('oidc_grant_sessions.grant_id', grantId)
      .whereNull('user_sessions.revoked_at')
      .andWhere('user_sessions.expires_at', '>', now)
      .andWhere('user_sessions.last_seen_at', '>', idleSince)
      .first('user_sessions.id');
    return row !== undefined;
  }

  return { tieGrant, sessionOfGrant, grantSessionIsLive };
}

export type OidcGrantSessionQueries = ReturnType<typeof createOidcGrantSessionQueries>;
