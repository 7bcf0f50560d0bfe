import type { Knex } from 'knex';
import { randomToken } from '../security/tokens.js';

/** One message to write to the outbox, in the transaction of the change it reports. */
export interface NewOutboxMessage {
  channel: string;
  target: string;
  orderingKey: string;
  payload: unknown;
}

/** A message claimed for delivery. */
export interface OutboxMessage {
  id: number;
  channel: string;
  target: string;
  orderingKey: string;
  messageId: string;
  payload: unknown;
  attempts: number;
  createdAtMs: number;
}

export type OutboxState = 'pending' | 'delivered' | 'failed' | 'dropped';

/** A message as `npm run admin` lists it. */
export interface OutboxEntry extends OutboxMessage {
  state: OutboxState;
  nextAttemptAtMs: number;
  finishedAtMs: number | null;
  lastError: string | null;
}

const table = 'outbox';

/** Writes messages inside `trx`: they exist exactly when the change they report does. */
export async function enqueueOutbox(trx: Knex | Knex.Transaction, messages: NewOutboxMessage[], nowMs: number): Promise<void> {
  if (messages.length === 0) return;
  await trx(table).insert(
    messages.map((message) => ({
      channel: message.channel,
      target: message.target,
      ordering_key: message.orderingKey,
      message_id: `msg_${randomToken(18)}`,
      payload: JSON.stringify(message.payload),
      state: 'pending',
      attempts: 0,
      created_at_ms: nowMs,
      next_attempt_at_ms: nowMs,
    })),
  );
}

/**
 * Data access for `outbox`. A message is claimed by one conditional UPDATE
 * (state pending, lease free or lapsed), so of two instances polling the same
 * database exactly one sends it; an instance that dies mid-send leaves a lease
 * that lapses, and another sends it again (at least once).
 */
export function createOutboxQueries(knex: Knex) {
  /**
   * Claims up to `limit` messages that are due, each the oldest pending one
   * of its target and ordering key (so a key's messages go out in order),
   * leased until `leaseUntilMs`, of the `channels` this instance sends;
   * skips those in `busy` (being sent here). No target gets more than
   * `perTarget` at once (counting `busyTargets`, its sends under way here):
   * a dead hook's backlog never fills a round that others wait behind.
   */
  async function claimDue(
    channels: string[],
    nowMs: number,
    leaseUntilMs: number,
    limit: number,
    busy: ReadonlySet<number>,
    busyTargets: ReadonlyMap<string, number> = new Map(),
    perTarget = limit,
  ): Promise<OutboxMessage[]> {
    if (channels.length === 0) return [];
    const candidates = await knex(`${table} as o`)
      .whereIn('o.channel', channels)
      .andWhere('o.state', 'pending')
      .andWhere('o.next_attempt_at_ms', '<=', nowMs)
      .andWhere((lease) => lease.whereNull('o.lease_until_ms').orWhere('o.lease_until_ms', '<=', nowMs))
      .whereNotExists(
        knex(`${table} as earlier`)
          .select(knex.raw('1'))
          .whereRaw('earlier.channel = o.channel and earlier.target = o.target and earlier.ordering_key = o.ordering_key')
          .andWhere('earlier.state', 'pending')
          .andWhereRaw('earlier.id < o.id'),
      )
      .orderBy('o.id')
      .limit(10 * limit + busy.size)
      .select('o.*');
    const claimed: OutboxMessage[] = [];
    const perTargetNow = new Map(busyTargets);
    for (const row of candidates) {
      const target = `${row.channel}\u0000${row.target}`;
      if (claimed.length >= limit || busy.has(Number(row.id)) || (perTargetNow.get(target) ?? 0) >= perTarget) continue;
      const won = await knex(table)
        .where({ id: row.id, state: 'pending' })
        .andWhere('next_attempt_at_ms', '<=', nowMs)
        .andWhere((lease) => lease.whereNull('lease_until_ms').orWhere('lease_until_ms', '<=', nowMs))
        .update({ lease_until_ms: leaseUntilMs, attempts: knex.raw('attempts + 1') });
      if (won === 1) {
        claimed.push({ ...toMessage(row), attempts: Number(row.attempts) + 1 });
        perTargetNow.set(target, (perTargetNow.get(target) ?? 0) + 1);
      }
    }
    return claimed;
  }

  /** The message reached its target (or its target is gone: `dropped`), for good. */
  async function finish(id: number, state: 'delivered' | 'dropped' | 'failed', nowMs: number, error?: string): Promise<void> {
    await knex(table)
      .where({ id })
      .update({ state, finished_at_ms: nowMs, lease_until_ms: null, ...(error === undefined ? {} : { last_error: error.slice(0, 300) }) });
  }

  /** A failed attempt: the message waits until `nextAttemptAtMs`. */
  async function retryLater(id: number, nextAttemptAtMs: number, error: string): Promise<void> {
    await knex(table).where({ id, state: 'pending' }).update({ next_attempt_at_ms: nextAttemptAtMs, lease_until_ms: null, last_error: error.slice(0, 300) });
  }

  /** Messages that have failed at least once and are not delivered: still retried, or given up. Newest first. */
  async function listFailures(limit: number): Promise<OutboxEntry[]> {
    const rows = await knex(table)
      .where((failed) => failed.where('state', 'failed').orWhere((retrying) => retrying.where('state', 'pending').whereNotNull('last_error')))
      .orderBy('id', 'desc')
      .limit(limit);
    return rows.map(toEntry);
  }

  /** Sends a message again (a given-up one, or a pending one now): same message id. False when there is no such message. */
  async function sendAgain(id: number, nowMs: number): Promise<boolean> {
    const changed = await knex(table)
      .where({ id })
      .whereIn('state', ['pending', 'failed'])
      .update({ state: 'pending', next_attempt_at_ms: nowMs, lease_until_ms: null, finished_at_ms: null });
    return changed === 1;
  }

  /** Forgets messages sent (or dropped) before `sentBeforeMs`, and given-up ones before `failedBeforeMs`. */
  async function deleteFinished(sentBeforeMs: number, failedBeforeMs: number): Promise<number> {
    const sent = await knex(table).whereIn('state', ['delivered', 'dropped']).andWhere('finished_at_ms', '<', sentBeforeMs).delete();
    const failed = await knex(table).where('state', 'failed').andWhere('finished_at_ms', '<', failedBeforeMs).delete();
    return sent + failed;
  }

  /** Counts by channel and state, for the metrics. */
  async function countByState(): Promise<{ channel: string; state: OutboxState; count: number }[]> {
    const rows = (await knex(table).select('channel', 'state').count({ count: '*' }).groupBy('channel', 'state')) as Record<string, unknown>[];
    return rows.map((row) => ({ channel: String(row.channel), state: row.state as OutboxState, count: Number(row.count) }));
  }

  return { claimDue, finish, retryLater, listFailures, sendAgain, deleteFinished, countByState };
}

export type OutboxQueries = ReturnType<typeof createOutboxQueries>;

function toMessage(row: Record<string, unknown>): OutboxMessage {
  return {
    id: Number(row.id),
    channel: String(row.channel),
    target: String(row.target),
    orderingKey: String(row.ordering_key),
    messageId: String(row.message_id),
    payload: JSON.parse(String(row.payload)),
    attempts: Number(row.attempts),
    createdAtMs: Number(row.created_at_ms),
  };
}

function toEntry(row: Record<string, unknown>): OutboxEntry {
  return {
    ...toMessage(row),
    state: row.state as OutboxState,
    nextAttemptAtMs: Number(row.next_attempt_at_ms),
    finishedAtMs: row.finished_at_ms === null ? null : Number(row.finished_at_ms),
    lastError: (row.last_error as string | null) ?? null,
  };
}
