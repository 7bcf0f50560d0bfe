import type { Knex } from 'knex';
import { toDate, toOptionalDate } from './values.js';

export interface SmsCode {
  id: number;
  phone: string;
  codeHash: string;
  attempts: number;
  expiresAt: Date;
  consumedAt: Date | null;
  createdAt: Date;
}

/** Data access for `sms_codes`. */
export function createSmsCodeQueries(knex: Knex) {
  /** Stores a new code; returns its id. */
  async function insertCode(phone: string, purpose: string, codeHash: string, expiresAt: Date, now: Date): Promise<number> {
    const [id] = await knex('sms_codes').insert({ phone, purpose, code_hash: codeHash, attempts: 0, expires_at: expiresAt, created_at: now });
    return Number(id);
  }

  async function findLatestCode(phone: string, purpose: string): Promise<SmsCode | undefined> {
    const row = await knex('sms_codes')
      .where({ phone, purpose })
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .first();
    if (!row) return undefined;
    return {
      id: Number(row.id),
      phone: String(row.phone),
      codeHash: String(row.code_hash),
      attempts: Number(row.attempts),
      expiresAt: toDate(row.expires_at),
      consumedAt: toOptionalDate(row.consumed_at),
      createdAt: toDate(row.created_at),
    };
  }

  async function countCodesSince(phone: string, purpose: string, since: Date): Promise<number> {
    const row = await knex('sms_codes').where({ phone, purpose }).andWhere('created_at', '>=', since).count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  /** Counts one wrong attempt, atomically, so that parallel guesses are all counted. */
  async function increaseAttempts(id: number): Promise<void> {
    await knex('sms_codes').where({ id }).increment('attempts', 1);
  }

  /** Marks the code used; false when another request used it first. */
  async function consumeCode(id: number, now: Date): Promise<boolean> {
    const changed = await knex('sms_codes').where({ id }).whereNull('consumed_at').update({ consumed_at: now });
    return changed === 1;
  }

  async function deleteCode(id: number): Promise<void> {
    await knex('sms_codes').where({ id }).delete();
  }

  return { insertCode, findLatestCode, countCodesSince, increaseAttempts, consumeCode, deleteCode };
}

export type SmsCodeQueries = ReturnType<typeof createSmsCodeQueries>;
