import type { Knex } from 'knex';
import type { LoginHistoryQueries, LoginMethod } from '../../db/login-history.js';
import type { User } from '../../db/users.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { EventLog } from '../../db/event-log.js';
import { describeUserAgent } from '../../http/user-agent.js';

export interface LoginMeta {
  ip: string;
  userAgent: string;
}

export interface LoginRecordDeps {
  loginHistory: Pick<LoginHistoryQueries, 'insertLoginWithoutSession'>;
  transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;
  /** user.login for the webhooks, in the login's transaction. */
  events?: EventLog;
  /** Asks for users.last_login_time to be written, after the answer and with other logins' (composition: db/batched-writes.ts). */
  lastLoginChanged?: (userId: number) => void;
  metrics?: Metrics;
  now?: () => Date;
}

/**
 * Records a completed login, whatever the way in: its row in user_sessions
 * (the session a browser gets, or a login without one: db/login-history.ts),
 * the user.login event when a webhook wants it, the count, and later the
 * user's last_login_time. The row is
 * one INSERT; only an event makes it a transaction. With a scene, at most
 * one login ever uses it (the row's unique scene): the loser of a race gets
 * undefined and must not log in.
 */
export function createLoginRecord(deps: LoginRecordDeps) {
  const now = deps.now ?? (() => new Date());

  /**
   * `insert` writes the login's row (in `run`, the transaction, when there is one) and returns what the
   * caller needs of it, or undefined when the scene was used. Runs in `trx` when given (the caller's
   * transaction), otherwise in one of its own only when an event is written with the row.
   */
  async function recordLogin<T>(
    user: User,
    method: LoginMethod,
    meta: LoginMeta,
    insert: (run?: Knex.Transaction) => Promise<T | undefined>,
    trx?: Knex.Transaction,
  ): Promise<T | undefined> {
    const events = deps.events?.wants('user.login') ? deps.events : undefined;
    const write = async (run?: Knex.Transaction) => {
      const row = await insert(run);
      if (row !== undefined && events && run) {
        const { browser, os } = describeUserAgent(meta.userAgent);
        await events.record(run, 'user.login', { userId: user.id, openid: user.openid ?? null, method, ip: meta.ip, browser: browser ?? null, os: os ?? null }, now());
      }
      return row;
    };
    const row = trx || !events ? await write(trx) : await deps.transaction(write);
    if (row !== undefined) {
      deps.metrics?.logins.inc({ method });
      // In the caller's transaction, the row counts once it is committed.
      if (trx) void trx.executionPromise.then(() => deps.lastLoginChanged?.(user.id)).catch(() => undefined);
      else deps.lastLoginChanged?.(user.id);
    }
    return row;
  }

  /** A login that starts no browser session (the mini-program's). */
  async function recordLoginWithoutSession(user: User, method: LoginMethod, meta: LoginMeta): Promise<void> {
    await recordLogin(user, method, meta, (run) => deps.loginHistory.insertLoginWithoutSession({ userId: user.id, method, ...meta }, now(), run));
  }

  return { recordLogin, recordLoginWithoutSession };
}

export type LoginRecord = ReturnType<typeof createLoginRecord>;
