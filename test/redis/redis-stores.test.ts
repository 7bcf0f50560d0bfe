import test from 'ava';
import { createConsoleLogger } from '../../src/http/error-handler.js';
import { createMemoryRateLimiter } from '../../src/http/rate-limiter.js';
import { createRedisClient } from '../../src/redis/redis-client.js';
import { createRedisRateLimiter } from '../../src/redis/redis-stores.js';
import { randomBytes } from 'node:crypto';

const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const quietLogger = createConsoleLogger(true);
const redisTest = process.env.TEST_REDIS === '1' ? test : test.skip;

redisTest('two instances share one rate-limit counter through Redis', async (t) => {
  const a = createRedisClient(redisUrl, quietLogger, 'publisher');
  const b = createRedisClient(redisUrl, quietLogger, 'publisher');
  t.teardown(() => {
    a.disconnect();
    b.disconnect();
  });
  await Promise.all([a.ping(), b.ping()].map((ping) => ping.catch(() => undefined)));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const limiterA = createRedisRateLimiter(a, createMemoryRateLimiter(true), true);
  const limiterB = createRedisRateLimiter(b, createMemoryRateLimiter(true), true);
  const key = `test-${randomBytes(6).toString('hex')}`;
  t.deepEqual([await limiterA.hit(key, 3, 60), await limiterB.hit(key, 3, 60), await limiterA.hit(key, 3, 60), await limiterB.hit(key, 3, 60)], [true, true, true, false]);
  t.true((await a.ttl(`wechat-login:rate:${key}`)) > 0, 'the window expires');
});

test('with Redis unreachable, the limiter falls back to this instance and does not throw', async (t) => {
  const dead = createRedisClient('redis://127.0.0.1:1', quietLogger, 'publisher');
  t.teardown(() => dead.disconnect());
  const limiter = createRedisRateLimiter(dead, createMemoryRateLimiter(true), true);
  t.deepEqual([await limiter.hit('k', 1, 60), await limiter.hit('k', 1, 60)], [true, false]);
});
