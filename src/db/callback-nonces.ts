import type { Knex } from 'knex';
import { countInserted, isUniqueViolation } from './values.js';

/** How often one instance deletes expired pairs (one indexed DELETE). */
const sweepEveryMs = 60_000;
/** MySQL and SQLite both take statements with this many rows without trouble. */
const maxPairsPerBatch = 500;

interface Claim {
  pairKey: string;
  bodyHash: string;
  expiresAtMs: number;
  resolve: (stored: string | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Where (timestamp, nonce) pairs are remembered (wechat/replay-guard.ts):
 * Redis when configured, otherwise the database. Both claim atomically, so two instances (or two
 * parallel requests) never both see a pair as new.
 */
export interface NonceStore {
  /**
   * Remembers `bodyHash` for `pairKey` until `expiresAtMs` unless the pair is
   * already remembered, and returns the hash remembered first (`bodyHash`
   * itself when this call claimed the pair).
   */
  remember(pairKey: string, bodyHash: string, expiresAtMs: number): Promise<string>;
}

/**
 * Callback nonces in the `callback_nonces` table. The primary key makes the
 * claim atomic: of two parallel inserts of one pair, one is refused and then
 * reads the hash the other stored.
 *
 * Every callback claims a pair, so the claims that arrive in the same tick
 * share one INSERT that skips existing pairs, instead of a round trip each on
 * the callback's path. When it inserted every row, each pair holds its own
 * body and nothing more is asked (the usual case: one statement per tick);
 * otherwise one SELECT reads what each pair holds.
 * A pair found holding another body goes through the one-pair path, which
 * also takes over a row that has expired but is not swept yet.
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

  let waiting: Claim[] = [];
  // MySQL's INSERT IGNORE skips only duplicate keys here: every value is a fixed-length hash or a date.
  const skipExisting = knex.client.config.client === 'mysql2' ? 'INSERT IGNORE INTO' : 'INSERT OR IGNORE INTO';

  async function flush(): Promise<void> {
    const batch = waiting;
    waiting = [];
    for (let start = 0; start < batch.length; start += maxPairsPerBatch) {
      const chunk = batch.slice(start, start + maxPairsPerBatch);
      try {
        // Skips pairs already stored; the values are fixed-length hashes and dates. Written as SQL: knex's builder for
        // an insert that skips conflicts cost 285 µs of CPU a statement here, the same statement raw 108 (BENCHMARKS.md).
        const values = chunk.map(() => '(?, ?, ?)').join(', ');
        const bindings = chunk.flatMap((claim) => [claim.pairKey, claim.bodyHash, new Date(claim.expiresAtMs)]);
        const inserted = await countInserted(knex, `${skipExisting} callback_nonces (pair_hash, body_hash, expires_at) VALUES ${values}`, bindings);
        if (inserted === chunk.length) {
          for (const claim of chunk) claim.resolve(claim.bodyHash);
          continue;
        }
        const stored = await table()
          .whereIn('pair_hash', [...new Set(chunk.map((claim) => claim.pairKey))])
          .select('pair_hash', 'body_hash');
        const byPair = new Map(stored.map((row) => [String(row.pair_hash), String(row.body_hash)]));
        for (const claim of chunk) claim.resolve(byPair.get(claim.pairKey));
      } catch (error) {
        for (const claim of chunk) claim.reject(error);
      }
    }
  }

  function claimInBatch(pairKey: string, bodyHash: string, expiresAtMs: number): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      waiting.push({ pairKey, bodyHash, expiresAtMs, resolve, reject });
      if (waiting.length === 1) setImmediate(() => void flush());
    });
  }

  async function remember(pairKey: string, bodyHash: string, expiresAtMs: number): Promise<string> {
    const at = now();
    sweep(at);
    // The usual case: a new pair, or WeChat's retry with the same body.
    if ((await claimInBatch(pairKey, bodyHash, expiresAtMs)) === bodyHash) return bodyHash;
    return rememberOne(pairKey, bodyHash, expiresAtMs, at);
  }

  /** One pair on its own: claims it, takes it over when its row has expired, or reads the body it holds. */
  async function rememberOne(pairKey: string, bodyHash: string, expiresAtMs: number, at: number): Promise<string> {
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
