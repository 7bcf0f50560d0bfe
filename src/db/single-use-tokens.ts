import { hashToken } from '../security/tokens.js';
import type { Knex } from 'knex';

/**
 * Data access for `single_use_tokens`. A token is stored as a hash and used
 * by deleting its row: of any number of parallel uses (or copies of a
 * cookie), exactly one sees the row go.
 */
export function createSingleUseTokenQueries(knex: Knex) {
  const hash = (token: string) => hashToken(token);

  async function insertToken(purpose: string, token: string, expiresAt: Date, now: Date): Promise<void> {
    // Expired rows are swept as new ones come, so the table stays small without a timer.
    await knex('single_use_tokens').where('expires_at', '<=', now).delete();
    await knex('single_use_tokens').insert({ token_hash: hash(token), purpose, expires_at: expiresAt });
  }

  /** Uses the token up; false when it is unknown, of another purpose, expired, or used already. */
  async function useToken(purpose: string, token: string, now: Date): Promise<boolean> {
    const deleted = await knex('single_use_tokens').where({ token_hash: hash(token), purpose }).andWhere('expires_at', '>', now).delete();
    return deleted === 1;
  }

  return { insertToken, useToken };
}

export type SingleUseTokenQueries = ReturnType<typeof createSingleUseTokenQueries>;
