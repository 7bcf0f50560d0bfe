import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { RateLimitConfig } from '../config.js';
import type { SmsCodeQueries } from '../db/sms-codes.js';
import { TooManyRequestsError, ValidationError } from '../errors.js';
import type { RateLimiter } from '../http/rate-limiter.js';
import type { SmsSender } from './sms-sender.js';
import type { Metrics, SmsRefusal } from '../metrics/metrics.js';

export const codeLifetimeMs = 5 * 60 * 1000;
const purpose = 'bind';

export interface VerificationCodeDeps {
  queries: SmsCodeQueries;
  send: SmsSender;
  limiter: RateLimiter;
  limits: RateLimitConfig;
  /** Keys the code hashes, so that a leaked table does not give the codes away by brute force. */
  secret: string;
  metrics?: Metrics;
  now?: () => Date;
}

/**
 * Six-digit SMS codes for binding a phone: stored hashed in the database (so
 * any instance can check them), valid for 5 minutes, dead after too many
 * wrong tries, and rate-limited per phone and per IP.
 */
export function createVerificationCodes(deps: VerificationCodeDeps) {
  const now = deps.now ?? (() => new Date());
  const hash = (phone: string, code: string) =>
    createHmac('sha256', `wechat-login sms:${deps.secret}`).update(`${phone}:${code}`).digest('hex');

  const refuse = (reason: SmsRefusal) => deps.metrics?.smsRefused.inc({ reason });

  async function sendCode(phone: string, ip: string): Promise<void> {
    const at = now();
    if (deps.limits.enabled) {
      const latest = await deps.queries.findLatestCode(phone, purpose);
      if (latest && at.getTime() - latest.createdAt.getTime() < deps.limits.smsResendSeconds * 1000) {
        refuse('resend_too_soon');
        throw new TooManyRequestsError('one code per phone per resend interval', 'sms_too_soon');
      }
      const lastHour = await deps.queries.countCodesSince(phone, purpose, new Date(at.getTime() - 3_600_000));
      if (lastHour >= deps.limits.smsPerPhonePerHour) {
        refuse('phone_hourly_cap');
        throw new TooManyRequestsError('hourly cap per phone');
      }
      if (!(await deps.limiter.hit(`sms-ip:${ip}`, deps.limits.smsPerIpPerHour, 3600))) {
        refuse('ip_hourly_cap');
        throw new TooManyRequestsError('hourly cap per IP');
      }
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const id = await deps.queries.insertCode(phone, purpose, hash(phone, code), new Date(at.getTime() + codeLifetimeMs), at);
    try {
      await deps.send({ phone, code, purpose });
    } catch (error) {
      // A code that never left must not count against the resend interval or the hourly cap.
      await deps.queries.deleteCode(id);
      refuse('provider_failed');
      throw error;
    }
    deps.metrics?.smsSent.inc();
  }

  /** Checks and uses up the latest code for `phone`; throws a typed 422/429 error on failure. */
  async function consumeCode(phone: string, code: string): Promise<void> {
    const latest = await deps.queries.findLatestCode(phone, purpose);
    if (!latest || latest.consumedAt || latest.expiresAt.getTime() <= now().getTime()) {
      throw new ValidationError('no live code for this phone', 'code_expired');
    }
    if (deps.limits.enabled && latest.attempts >= deps.limits.smsCodeMaxAttempts) {
      throw new TooManyRequestsError('too many wrong codes', 'code_attempts_exceeded');
    }
    const given = Buffer.from(hash(phone, /^\d{6}$/.test(code) ? code : 'invalid'));
    if (!timingSafeEqual(given, Buffer.from(latest.codeHash))) {
      await deps.queries.increaseAttempts(latest.id);
      throw new ValidationError('wrong code', 'invalid_code');
    }
    if (!(await deps.queries.consumeCode(latest.id, now()))) {
      throw new ValidationError('code already used', 'code_expired');
    }
  }

  return { sendCode, consumeCode };
}

export type VerificationCodes = ReturnType<typeof createVerificationCodes>;
