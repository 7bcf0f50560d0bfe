import type { Knex } from 'knex';
import { isUniqueViolation, toDate, toOptionalDate } from './values.js';

export interface SmsCode {
  id: number;
  userId: number | null;
  phone: string;
  codeHash: string;
  attempts: number;
  expiresAt: Date;
  consumedAt: Date | null;
  createdAt: Date;
}

export interface NewSmsCode {
  userId: number;
  phone: string;
  purpose: string;
  codeHash: string;
  expiresAt: Date;
}

/** Data access for `sms_codes` and `sms_send_slots`. Every limit is claimed by one atomic statement. */
export function createSmsCodeQueries(knex: Knex) {
  /** Stores a new code; returns its id. */
  async function insertCode(code: NewSmsCode, now: Date): Promise<number> {
    const [id] = await knex('sms_codes').insert({
      user_id: code.userId,
      phone: code.phone,
      purpose: code.purpose,
      code_hash: code.codeHash,
      attempts: 0,
      expires_at: code.expiresAt,
      created_at: now,
    });
    return Number(id);
  }

  /** The newest code this user asked for, for this phone. */
  async function findLatestCode(userId: number, phone: string, purpose: string): Promise<SmsCode | undefined> {
    const row = await knex('sms_codes')
      .where({ user_id: userId, phone, purpose })
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .first();
    if (!row) return undefined;
    return {
      id: Number(row.id),
      userId: row.user_id === null ? null : Number(row.user_id),
      phone: String(row.phone),
      codeHash: String(row.code_hash),
      attempts: Number(row.attempts),
      expiresAt: toDate(row.expires_at),
      consumedAt: toOptionalDate(row.consumed_at),
      createdAt: toDate(row.created_at),
    };
  }

  /** Codes sent to `phone` since `since`: asked for by `userId`, or by anyone when it is undefined. */
  async function countCodesForPhoneSince(phone: string, purpose: string, since: Date, userId?: number): Promise<number> {
    const query = knex('sms_codes').where({ phone, purpose }).andWhere('created_at', '>=', since);
    if (userId !== undefined) query.andWhere({ user_id: userId });
    const row = await query.count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  /**
   * Claims one attempt at a live code: counted before it is compared, in one
   * statement, so parallel guesses cannot get past `maxAttempts`. False when
   * the code is used up, expired, or out of attempts.
   */
  async function claimAttempt(id: number, maxAttempts: number, now: Date): Promise<boolean> {
    const changed = await knex('sms_codes')
      .where({ id })
      .andWhere('attempts', '<', maxAttempts)
      .whereNull('consumed_at')
      .andWhere('expires_at', '>', now)
      .increment('attempts', 1);
    return changed === 1;
  }

  /** Marks the code used; false when another request used it first. */
  async function consumeCode(id: number, now: Date, trx?: Knex.Transaction): Promise<boolean> {
    const changed = await (trx ?? knex)('sms_codes').where({ id }).whereNull('consumed_at').update({ consumed_at: now });
    return changed === 1;
  }

  async function deleteCode(id: number): Promise<void> {
    await knex('sms_codes').where({ id }).delete();
  }

  /**
   * Claims the right to send the next code to `phone` and blocks it until
   * `blockedUntil`: an UPDATE of an expired slot, or the INSERT of a new one,
   * which the primary key lets only one request win.
   */
  async function claimSendSlot(phone: string, purpose: string, now: Date, blockedUntil: Date): Promise<boolean> {
    const renewed = await knex('sms_send_slots').where({ phone, purpose }).andWhere('blocked_until', '<=', now).update({ blocked_until: blockedUntil });
    if (renewed === 1) return true;
    try {
      await knex('sms_send_slots').insert({ phone, purpose, blocked_until: blockedUntil });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Frees the slot again (the code could not be sent). */
  async function releaseSendSlot(phone: string, purpose: string, now: Date): Promise<void> {
    await knex('sms_send_slots').where({ phone, purpose }).update({ blocked_until: now });
  }

  /** A refused send, for the operator console's counts (every instance's). */
  async function recordRefusal(reason: string, now: Date): Promise<void> {
    await knex('sms_refusals').insert({ reason: reason.slice(0, 32), created_at: now });
  }

  /** Forgets refusals older than `before` (the dashboard shows 14 days). */
  async function deleteRefusalsBefore(before: Date): Promise<number> {
    return knex('sms_refusals').where('created_at', '<', before).delete();
  }

  return { insertCode, findLatestCode, countCodesForPhoneSince, claimAttempt, consumeCode, deleteCode, claimSendSlot, releaseSendSlot, recordRefusal, deleteRefusalsBefore };
}

export type SmsCodeQueries = ReturnType<typeof createSmsCodeQueries>;
