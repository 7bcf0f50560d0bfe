import type { AppMiddleware } from './context.js';
import { TooManyRequestsError } from '../errors.js';

/**
 * Fixed-window counters. `hit` counts one event for `key` and says whether
 * it is still within `limit` per `windowSeconds`. With limits off (load
 * tests) every hit is allowed.
 */
export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<boolean>;
}

export function createMemoryRateLimiter(enabled: boolean, now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>();
  let lastSweep = now();

  function sweep(at: number) {
    // Drop finished windows now and then, so that the map cannot grow without bound.
    if (at - lastSweep < 60_000) return;
    lastSweep = at;
    for (const [key, window] of windows) if (window.resetAt <= at) windows.delete(key);
  }

  return {
    async hit(key, limit, windowSeconds) {
      if (!enabled) return true;
      const at = now();
      sweep(at);
      let window = windows.get(key);
      if (!window || window.resetAt <= at) {
        window = { count: 0, resetAt: at + windowSeconds * 1000 };
        windows.set(key, window);
      }
      window.count += 1;
      return window.count <= limit;
    },
  };
}

/**
 * A per-client-IP cap as a route middleware, for unauthenticated requests that
 * write a row or cost a WeChat API call (`bucket` names the counter; the IP is
 * `ctx.ip`, which follows TRUST_PROXY). Past it: 429 with `Retry-After`.
 */
export function perIpPerMinute(limiter: RateLimiter, bucket: string, limit: number): AppMiddleware {
  return async (ctx, next) => {
    if (!(await limiter.hit(`${bucket}:${ctx.ip}`, limit, 60))) {
      ctx.set('Retry-After', '60');
      throw new TooManyRequestsError(`too many ${bucket} requests from this address`);
    }
    return next();
  };
}
