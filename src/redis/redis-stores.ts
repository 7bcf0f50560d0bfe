import type Redis from 'ioredis';
import type { RateLimiter } from '../http/rate-limiter.js';
import type { SharedDeliveryStore } from '../login/delivery-dedupe.js';

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
