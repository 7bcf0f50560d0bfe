import type Redis from 'ioredis';
import type { RateLimiter } from '../http/rate-limiter.js';
import type { SharedDeliveryStore } from '../login/delivery-dedupe.js';
import type { NonceStore } from '../wechat/replay-guard.js';

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
 * Callback nonces in Redis: SET NX with the expiry claims a pair atomically
 * for every instance. While Redis is away, `fallback` (the database) decides,
 * so that a Redis outage neither stops callbacks nor opens the replay hole.
 */
export function createRedisNonceStore(redis: Redis, fallback: NonceStore, now: () => number = Date.now): NonceStore {
  return {
    async remember(pairKey, bodyHash, expiresAtMs) {
      const key = `wechat-login:nonce:${pairKey}`;
      const ttlMs = Math.max(1000, expiresAtMs - now());
      try {
        for (let round = 0; round < 3; round += 1) {
          if ((await redis.set(key, bodyHash, 'PX', ttlMs, 'NX')) === 'OK') return bodyHash;
          const first = await redis.get(key);
          // null: it expired between the two commands; claim again.
          if (first !== null) return first;
        }
      } catch {
        return fallback.remember(pairKey, bodyHash, expiresAtMs);
      }
      throw new Error('callback nonce could not be claimed');
    },
  };
}
