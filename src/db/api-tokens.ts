import { hashToken } from '../security/tokens.js';
import type { Knex } from 'knex';
import { toDate } from './values.js';

/** Only the sha256 of a bearer token is stored: a leaked table logs nobody in. */
export function hashApiToken(token: string): string {
  return hashToken(token);
}

/** Data access for `api_tokens` (the mini-program's bearer tokens). */
export function createApiTokenQueries(knex: Knex) {
  async function insertToken(token: string, userId: number, expiresAt: Date, now: Date): Promise<void> {
    await knex('api_tokens').insert({ token_hash: hashApiToken(token), user_id: userId, expires_at: expiresAt, created_at: now });
  }

  /** The user a live (unexpired, unrevoked) token belongs to. */
  async function findUserIdByToken(token: string, now: Date): Promise<number | undefined> {
    const row = await knex('api_tokens').where({ token_hash: hashApiToken(token) }).whereNull('revoked_at').first('user_id', 'expires_at');
    if (!row || toDate(row.expires_at).getTime() <= now.getTime()) return undefined;
    return Number(row.user_id);
  }

  /** Revokes one token; false when it was unknown or already revoked. */
  async function revokeToken(token: string, now: Date): Promise<boolean> {
    return (await knex('api_tokens').where({ token_hash: hashApiToken(token) }).whereNull('revoked_at').update({ revoked_at: now })) === 1;
  }

  async function revokeTokensOfUser(userId: number, now: Date, trx?: Knex.Transaction): Promise<void> {
    await (trx ?? knex)('api_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: now });
  }

  return { insertToken, findUserIdByToken, revokeToken, revokeTokensOfUser };
}

export type ApiTokenQueries = ReturnType<typeof createApiTokenQueries>;
