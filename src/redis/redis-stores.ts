import type Redis from 'ioredis';
import type { RateLimiter } from '../http/rate-limiter.js';
import type { SharedDeliveryStore } from '../login/callback/delivery-dedupe.js';
import type { NonceStore } from '../db/callback-nonces.js';

/**
 * Rate-limit counters shared by every instance (INCR + EXPIRE, fixed
 * windows). While Redis is away, this instance's own counters take over.
 */
export function createRedisRateLimiter(redis: Redis, fallback: RateLimiter, enabled: boolean): RateLimiter {
  return {
    async hit(key, limit, windowSeconds) {
      if (!enabled) return true;
      try {
        const redisKey = `wechat-login:rate:${key}`;
        const [[, count]] = (await redis.multi().incr(redisKey).expire(redisKey, windowSeconds, 'NX').exec()) as [[Error | null, number]];
        return count <= limit;
      } catch {
        return fallback.hit(key, limit, windowSeconds);
      }
    },
  };
}

/** Callback delivery keys shared by every instance, so a retry that lands elsewhere still gets the same reply. */
export function createRedisDeliveryStore(redis: Redis, ttlSeconds: number): SharedDeliveryStore {
  const keyOf = (key: string) => `wechat-login:delivery:${key}`;
  const pending = '\u0000pending';
  return {
    async claim(key) {
      const claimed = await redis.set(keyOf(key), pending, 'EX', ttlSeconds, 'NX');
      if (claimed === 'OK') return { claimed: true };
      const value = await redis.get(keyOf(key));
      return value === null || value === pending ? { claimed: false } : { claimed: false, reply: value };
    },
    async save(key, reply) {
      await redis.set(keyOf(key), reply, 'EX', ttlSeconds);
    },
    async release(key) {
      await redis.del(keyOf(key));
    },
  };
}

/**
 * Callback nonces with the database as the truth and Redis as the fast path.
 * Every pair is claimed in `database`, so that every pair of the window is
 * known whatever Redis went through: a pair claimed in Redis just before an
 * outage stays refused during it, and a pair first seen during an outage
 * stays refused after it (the database claim, one batched statement per
 * tick, was there all along). Redis answers first and alone only a replay
 * it already knows, without a database round trip; an unreachable Redis
 * costs nothing but that shortcut.
 */
export function createRedisNonceStore(redis: Redis, database: NonceStore, now: () => number = Date.now): NonceStore {
  return {
    async remember(pairKey, bodyHash, expiresAtMs) {
      const key = `wechat-login:nonce:${pairKey}`;
      const ttlMs = Math.max(1000, expiresAtMs - now());
      let known: string | null = null;
      try {
        // SET … NX GET: claims the pair, or returns the body hash it holds, in one round trip (Redis 7).
        known = (await redis.call('SET', key, bodyHash, 'PX', String(ttlMs), 'NX', 'GET')) as string | null;
      } catch {
        known = null;
      }
      if (known !== null && known !== bodyHash) return known;
      const first = await database.remember(pairKey, bodyHash, expiresAtMs);
      // Redis claimed a pair the database had from an outage: Redis learns the truth, or it would refuse WeChat's retry.
      if (first !== bodyHash) await redis.set(key, first, 'PX', ttlMs).catch(() => undefined);
      return first;
    },
  };
}
