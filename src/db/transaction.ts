import type { Knex } from 'knex';

/** How many times a transaction InnoDB chose as a deadlock victim is run again. */
const deadlockAttempts = 3;

/**
 * Runs `work` in a transaction, again (up to 3 times) when InnoDB picks it as
 * a deadlock victim. Concurrent first scans of one openid deadlock by design
 * on MySQL (both wait on the unique key the winner inserted, then both want
 * to update it); InnoDB rolls the victim back whole, so running it again is
 * the documented remedy. SQLite serialises writers and never gets here.
 * https://dev.mysql.com/doc/refman/8.0/en/innodb-deadlocks-handling.html
 */
export async function inTransaction<T>(knex: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await knex.transaction(work);
    } catch (error) {
      if (attempt >= deadlockAttempts || (error as { code?: string } | null)?.code !== 'ER_LOCK_DEADLOCK') throw error;
    }
  }
}

/**
 * `query` as a locking read (FOR UPDATE) on MySQL, held until `trx` ends. SQLite
 * serialises writers anyway and has no FOR UPDATE, so there it stays a plain read.
 */
export function lockedOnMysql<Q extends Knex.QueryBuilder>(query: Q, trx: Knex.Transaction): Q {
  return trx.client.config.client === 'mysql2' ? (query.forUpdate() as Q) : query;
}
