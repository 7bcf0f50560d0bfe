import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { RateLimitConfig } from '../../config.js';
import type { SmsCodeQueries } from '../../db/sms-codes.js';
import { PhoneTakenError, type UserQueries } from '../../db/users.js';
import { ConflictError, TooManyRequestsError, ValidationError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import type { BrowserLoginMeta, SessionLogin, StartedSession } from '../session/session-login.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics, SmsRefusal } from '../../metrics/metrics.js';
import type { SmsSender } from './sms-sender.js';

export const codeLifetimeMs = 5 * 60 * 1000;
const purpose = 'bind';
/** With RATE_LIMITS=off (load tests) a code still dies when used, but never of attempts. */
const unlimitedAttempts = 2_147_483_647;

/** A browser's scanned-but-unbound login, as the cookie session holds it. */
export interface PendingBinding {
  userId: number;
  version: number;
  scene?: string;
  method: 'qrcode' | 'code' | 'miniprogram-code' | 'open' | 'oauth';
  /** When the scan was confirmed on the phone: the session it becomes says so. */
  confirmedAt?: number;
}

export interface PhoneBindingDeps {
  codes: SmsCodeQueries;
  users: UserQueries;
  sessionLogin: Pick<SessionLogin, 'recordSignIn'>;
  transaction: <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;
  send: SmsSender;
  limiter: RateLimiter;
  limits: RateLimitConfig;
  /** Keys the code hashes (newest first), so that a leaked table does not give the codes away by brute force. */
  codeKeys: Buffer[];
  metrics?: Metrics;
  /** One line per phone bound (the user id, never the number or a code). */
  logger?: Logger;
  now?: () => Date;
}

/**
 * Binding a phone number to a user. Codes are six digits, stored hashed,
 * valid for 5 minutes, and belong to the user who asked and the phone they
 * went to, so nobody else can spend their attempts. Every limit is claimed
 * before it is used. The answer to "send me a code" is the same for a free
 * and for a taken number; a taken number is only said after the code is
 * verified, which proves the asker holds that phone.
 */
export function createPhoneBinding(deps: PhoneBindingDeps) {
  const now = deps.now ?? (() => new Date());
  const hashWith = (key: Buffer, phone: string, code: string) => createHmac('sha256', key).update(`${phone}:${code}`).digest('hex');
  /** Counts a refused send, then says why to the caller. */
  const refusalsWritten = { minute: 0, count: 0 };
  const refuse = (reason: SmsRefusal, error: Error) => {
    deps.metrics?.smsRefused.inc({ reason });
    // Written for the console, at most 60 a minute per instance: a flood of refused requests is not a flood of writes
    // (the metric counts them all). Never awaited: the refusal is answered at once.
    const minute = Math.floor(now().getTime() / 60_000);
    if (refusalsWritten.minute !== minute) Object.assign(refusalsWritten, { minute, count: 0 });
    if (refusalsWritten.count++ < 60) {
      deps.codes.recordRefusal(reason, now()).catch((failure: Error) => deps.logger?.warn('could not record an SMS refusal', { error: failure.message }));
    }
    return error;
  };

  /**
   * Sends a bind code to `phone` for `userId`; every cap is checked first, and
   * a code that could not leave counts for nothing. Says when the next code to
   * that number may be asked for (null without limits): the same for any number.
   */
  async function sendBindCode(userId: number, phone: string, ip: string): Promise<{ nextSendAt: Date | null }> {
    const at = now();
    if (deps.limits.enabled) await claimSendAllowance(userId, phone, ip, at);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = new Date(at.getTime() + codeLifetimeMs);
    const id = await deps.codes.insertCode({ userId, phone, purpose, codeHash: hashWith(deps.codeKeys[0], phone, code), expiresAt }, at);
    try {
      await deps.send({ phone, code, purpose });
    } catch (error) {
      await deps.codes.deleteCode(id);
      await deps.codes.releaseSendSlot(phone, sendSlotOf(userId), at);
      throw refuse('provider_failed', error as Error);
    }
    deps.metrics?.smsSent.inc();
    return { nextSendAt: deps.limits.enabled && deps.limits.smsResendSeconds > 0 ? new Date(at.getTime() + deps.limits.smsResendSeconds * 1000) : null };
  }

  /** The caps, cheapest and least revealing first; the resend slot is claimed atomically, the budget last. */
  async function claimSendAllowance(userId: number, phone: string, ip: string, at: Date): Promise<void> {
    const limits = deps.limits;
    if (!(await deps.limiter.hit(`sms-ip:${ip}`, limits.smsPerIpPerHour, 3600))) {
      throw refuse('ip_hourly_cap', new TooManyRequestsError('hourly cap per IP'));
    }
    if (!(await deps.limiter.hit(`sms-user:${userId}`, limits.smsPerUserPerHour, 3600))) {
      throw refuse('user_hourly_cap', new TooManyRequestsError('hourly cap per user'));
    }
    // Counted per requester, so that nobody can spend the owner's allowance for their own number (the
    // requester's own slot below serialises their parallel requests, so this read cannot be raced).
    const hourAgo = new Date(at.getTime() - 3_600_000);
    if ((await deps.codes.countCodesForPhoneSince(phone, purpose, hourAgo, userId)) >= limits.smsPerPhonePerHour) {
      throw refuse('phone_hourly_cap', new TooManyRequestsError('hourly cap per requester and phone'));
    }
    const blockedUntil = new Date(at.getTime() + limits.smsResendSeconds * 1000);
    if (!(await deps.codes.claimSendSlot(phone, sendSlotOf(userId), at, blockedUntil))) {
      throw refuse('resend_too_soon', new TooManyRequestsError('one code per phone per resend interval', 'sms_too_soon', { seconds: limits.smsResendSeconds }));
    }
    // The ceiling over every requester (against bombing one phone from many accounts) and the server-wide
    // budget are claimed atomically, and only by codes that are really about to go out.
    if (!(await deps.limiter.hit(`sms-phone:${phone}`, limits.smsPhoneCeilingPerHour, 3600))) {
      await deps.codes.releaseSendSlot(phone, sendSlotOf(userId), at);
      throw refuse('phone_ceiling', new TooManyRequestsError('hourly ceiling per phone'));
    }
    if (!(await deps.limiter.hit('sms-all', limits.smsPerHour, 3600))) {
      await deps.codes.releaseSendSlot(phone, sendSlotOf(userId), at);
      throw refuse('server_budget', new TooManyRequestsError('hourly SMS budget of the whole server', 'sms_budget'));
    }
  }

  /**
   * Counts one attempt at the user's latest code for `phone`, then checks it;
   * throws a typed 422/429 error when it fails. A wrong code's error carries
   * `attemptsLeft` (not without limits), so the page can say "2 tries left".
   */
  async function checkCode(userId: number, phone: string, code: string): Promise<number> {
    const at = now();
    const latest = await deps.codes.findLatestCode(userId, phone, purpose);
    if (!latest || latest.consumedAt || latest.expiresAt.getTime() <= at.getTime()) {
      throw new ValidationError('no live code for this phone', 'code_expired');
    }
    const maxAttempts = deps.limits.enabled ? deps.limits.smsCodeMaxAttempts : unlimitedAttempts;
    // The code looked live a moment ago: a refused claim means its attempts are spent.
    if (!(await deps.codes.claimAttempt(latest.id, maxAttempts, at))) {
      throw new TooManyRequestsError('too many wrong codes', 'code_attempts_exceeded');
    }
    const given = /^\d{6}$/.test(code) ? code : 'invalid';
    const stored = Buffer.from(latest.codeHash);
    const matches = deps.codeKeys.some((key) => timingSafeEqual(Buffer.from(hashWith(key, phone, given)), stored));
    if (!matches) {
      const attemptsLeft = deps.limits.enabled ? Math.max(0, maxAttempts - (latest.attempts + 1)) : undefined;
      throw new ValidationError('wrong code', 'invalid_code', attemptsLeft === undefined ? undefined : { attemptsLeft });
    }
    return latest.id;
  }

  /**
   * Verifies the code, then in one transaction uses it up, binds the phone
   * (only to a user who has none, and whose pending binding was not ended by
   * an unfollow), records the login and starts the session. Anything refused
   * changes nothing: the phone, the code and the scene stay as they were.
   */
  async function bindAndSignIn(pending: PendingBinding, phone: string, code: string, meta: BrowserLoginMeta): Promise<StartedSession> {
    if (!(await deps.limiter.hit(`bind-ip:${meta.ip}`, deps.limits.bindAttemptsPerIpPerHour, 3600))) {
      throw new TooManyRequestsError('too many bind attempts from this address');
    }
    const codeId = await checkCode(pending.userId, phone, code);
    const at = now();
    try {
      const signedIn = await deps.transaction(async (trx) => {
        if (!(await deps.codes.consumeCode(codeId, at, trx))) throw new ValidationError('code already used', 'code_expired');
        if (!(await deps.users.bindPhoneIfEmpty(pending.userId, phone, pending.version, at, trx))) {
          throw new ValidationError('the user has a phone already, or unfollowed since', 'bind_expired');
        }
        const user = (await deps.users.findUserById(pending.userId, trx))!;
        if (user.blockedAt) throw new ValidationError('this account is blocked', 'bind_expired');
        const started = await deps.sessionLogin.recordSignIn(trx, user, pending.method, { ...meta, confirmedAt: pending.confirmedAt }, pending.scene);
        if (!started) throw new ValidationError('the scan was already used', 'bind_expired');
        return started;
      });
      deps.logger?.info('phone bound', { userId: pending.userId, via: 'sms' });
      return signedIn;
    } catch (error) {
      throw error instanceof PhoneTakenError ? phoneTaken() : error;
    }
  }

  /** The mini-program's phone, verified by WeChat itself: bound with the same rule, no code needed. */
  async function bindVerifiedPhone(userId: number, phone: string): Promise<void> {
    try {
      if (!(await deps.users.bindPhoneIfEmpty(userId, phone, undefined, now()))) {
        throw new ConflictError('the user has another phone bound', 'phone_already_bound');
      }
      deps.logger?.info('phone bound', { userId, via: 'miniprogram' });
    } catch (error) {
      throw error instanceof PhoneTakenError ? phoneTaken() : error;
    }
  }

  return { sendBindCode, bindAndSignIn, bindVerifiedPhone };
}

/**
 * The resend interval is per requester and phone (`sms_send_slots` keyed by
 * phone and this, up to 16 characters): someone else asking for codes to
 * your number every minute no longer keeps you from getting yours.
 */
function sendSlotOf(userId: number): string {
  return `bind:${userId}`;
}

/** The one place a number held by someone else becomes a 409. */
function phoneTaken(): ConflictError {
  return new ConflictError('phone bound to another user', 'phone_taken');
}

export type PhoneBinding = ReturnType<typeof createPhoneBinding>;
