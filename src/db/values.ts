import type { Knex } from 'knex';

/**
 * Small conversions that make MySQL and SQLite rows look the same:
 * mysql2 gives Date objects and 0/1, better-sqlite3 gives epoch milliseconds and 0/1.
 */

/** A DATETIME column's value as a Date. */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string') return new Date(/^\d+$/.test(value) ? Number(value) : value);
  throw new TypeError('not a date value');
}

export function toOptionalDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

/** True when `error` is a unique-key violation: MySQL ER_DUP_ENTRY or SQLite SQLITE_CONSTRAINT_UNIQUE. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Runs an INSERT that may skip rows (INSERT IGNORE, ON CONFLICT DO NOTHING)
 * and returns how many rows it inserted: knex's own answer for an insert is
 * the last id, not the count, so the statement is run raw (mysql2 answers
 * an OkPacket with affectedRows, better-sqlite3 `{ changes }`).
 */
export async function countInserted(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Promise<number> {
  const answer = (await knex.raw(sql, bindings)) as unknown;
  const result = Array.isArray(answer) ? answer[0] : answer;
  const count = (result as { affectedRows?: unknown; changes?: unknown } | null) ?? {};
  const inserted = count.affectedRows ?? count.changes;
  if (typeof inserted !== 'number') throw new TypeError('the database did not say how many rows it inserted');
  return inserted;
}
