import type { Knex } from 'knex';
import type { NonceStore } from '../wechat/replay-guard.js';
import { isUniqueViolation } from './values.js';

/** How often one instance deletes expired pairs (one indexed DELETE). */
const sweepEveryMs = 60_000;

/**
 * Callback nonces in the `callback_nonces` table. The primary key makes the
 * claim atomic: of two parallel inserts of one pair, one fails with a
 * duplicate key and then reads the hash the other stored.
 */
export function createDatabaseNonceStore(knex: Knex, now: () => number = Date.now): NonceStore {
  const table = () => knex<Record<string, unknown>>('callback_nonces');
  let lastSweep = 0;

  function sweep(at: number) {
    if (at - lastSweep < sweepEveryMs) return;
    lastSweep = at;
    // Not awaited: a failed sweep is retried a minute later and costs the callback nothing.
    void table().where('expires_at', '<', new Date(at)).del().catch(() => undefined);
  }

  async function remember(pairKey: string, bodyHash: string, expiresAtMs: number): Promise<string> {
    const at = now();
    sweep(at);
    // Three rounds cover a row that expires or is swept between our statements.
    for (let round = 0; round < 3; round += 1) {
      try {
        await table().insert({ pair_hash: pairKey, body_hash: bodyHash, expires_at: new Date(expiresAtMs) });
        return bodyHash;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
      // An expired row that the sweep has not reached yet is taken over, atomically.
      const takenOver = await table()
        .where({ pair_hash: pairKey })
        .where('expires_at', '<=', new Date(at))
        .update({ body_hash: bodyHash, expires_at: new Date(expiresAtMs) });
      if (takenOver > 0) return bodyHash;
      const row = await table().where({ pair_hash: pairKey }).first('body_hash');
      if (row) return String(row.body_hash);
    }
    throw new Error('callback nonce could not be claimed');
  }

  return { remember };
}
