import type { Knex } from 'knex';
import type { LoginHistoryQueries, LoginMethod } from '../../db/login-history.js';
import type { User, UserQueries } from '../../db/users.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { EventLog } from '../../db/event-log.js';
import { describeUserAgent } from '../../http/user-agent.js';

export interface LoginMeta {
  ip: string;
  userAgent: string;
}

export interface LoginRecordDeps {
  users: Pick<UserQueries, 'touchLastLogin'>;
  loginHistory: LoginHistoryQueries;
  transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;
  /** Marks a QR scene used by this login, in its transaction: false when another login used it first (scan/scene-states.ts). */
  useScene: (scene: string, trx: Knex.Transaction) => Promise<boolean>;
  /** user.login for the webhooks, in the login's transaction. */
  events?: EventLog;
  metrics?: Metrics;
  now?: () => Date;
}

/**
 * Records a completed login, whatever the way in: the login history, the
 * user's last_login_time and the count. With a scene, at most one login ever
 * uses it: the loser of a race gets false and must not log in.
 */
export function createLoginRecord(deps: LoginRecordDeps) {
  const now = deps.now ?? (() => new Date());

  /** Runs in `trx` when given (the caller's transaction), otherwise in one of its own. */
  async function recordLogin(
    user: User,
    method: LoginMethod,
    meta: LoginMeta,
    { scene, trx }: { scene?: string; trx?: Knex.Transaction } = {},
  ): Promise<boolean> {
    if (!trx) return deps.transaction((own) => recordLogin(user, method, meta, { scene, trx: own }));
    if (scene && !(await deps.useScene(scene, trx))) return false;
    const at = now();
    if (!(await deps.loginHistory.insertLogin({ userId: user.id, method, scene, ...meta }, at, trx))) return false;
    await deps.users.touchLastLogin(user.id, at, trx);
    if (deps.events?.wants('user.login')) {
      const { browser, os } = describeUserAgent(meta.userAgent);
      await deps.events.record(trx, 'user.login', { userId: user.id, openid: user.openid ?? null, method, ip: meta.ip, browser: browser ?? null, os: os ?? null }, at);
    }
    deps.metrics?.logins.inc({ method });
    return true;
  }

  return { recordLogin };
}

export type LoginRecord = ReturnType<typeof createLoginRecord>;
