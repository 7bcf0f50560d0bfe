import type { Knex } from 'knex';
import type { WebhookEventType } from '../config/webhooks.js';
import { enqueueOutbox } from './outbox.js';
import { inTransaction } from './transaction.js';

/** The outbox channel of webhooks: one message per event and hook. */
export const webhookChannel = 'webhook';

/** A webhook's body (CONTRACT.md "Webhooks"), as stored and as sent. */
export interface WebhookEvent {
  type: WebhookEventType;
  timestamp: string;
  data: { userId: number } & Record<string, unknown>;
}

/**
 * The login events that webhooks report, written to the outbox in the
 * transaction of the change they report: one message per hook that wants
 * the event, ordered per user. With no hook for an event, recording it
 * costs nothing: no statement, no transaction.
 */
export interface EventLog {
  wants(type: WebhookEventType): boolean;
  record(trx: Knex | Knex.Transaction, type: WebhookEventType, data: WebhookEvent['data'], now: Date): Promise<void>;
  /** Several events of one type in one INSERT (the sessions one sweep ends). */
  recordAll(trx: Knex | Knex.Transaction, type: WebhookEventType, data: WebhookEvent['data'][], now: Date): Promise<void>;
}

export const noEventLog: EventLog = { wants: () => false, record: async () => undefined, recordAll: async () => undefined };

export function createEventLog(hooks: readonly { id: string; events: readonly WebhookEventType[] }[]): EventLog {
  if (hooks.length === 0) return noEventLog;
  const targets = (type: WebhookEventType) => hooks.filter((hook) => hook.events.includes(type));
  const recordAll: EventLog['recordAll'] = async (trx, type, data, now) => {
    const messages = data.flatMap((one) => {
      const payload: WebhookEvent = { type, timestamp: now.toISOString(), data: one };
      return targets(type).map((hook) => ({ channel: webhookChannel, target: hook.id, orderingKey: String(one.userId), payload }));
    });
    await enqueueOutbox(trx, messages, now.getTime());
  };
  return {
    wants: (type) => targets(type).length > 0,
    record: (trx, type, data, now) => recordAll(trx, type, [data], now),
    recordAll,
  };
}

/**
 * Runs `work` in `trx` when given, else in a transaction of its own when the
 * event is wanted (so that the change and its event commit together), else
 * as it is (a single statement needs none).
 */
export function withEventTransaction<T>(knex: Knex, trx: Knex.Transaction | undefined, wanted: boolean, work: (trx: Knex | Knex.Transaction) => Promise<T>): Promise<T> {
  if (trx) return work(trx);
  return wanted ? inTransaction(knex, work) : work(knex);
}

/** user.created's data: the new user's id and the openid it was created by (`openid`, `miniOpenid` or `openOpenid`). */
export function createdUserData(userId: number, app: 'openid' | 'mini_openid' | 'open_openid', value: string, unionid: string | undefined): WebhookEvent['data'] {
  const key = { openid: 'openid', mini_openid: 'miniOpenid', open_openid: 'openOpenid' }[app];
  return { userId, [key]: value, unionid: unionid ?? null };
}
