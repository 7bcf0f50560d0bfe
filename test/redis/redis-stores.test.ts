import test from 'ava';
import { createConsoleLogger } from '../../src/logging/logger.js';
import { createMemoryRateLimiter } from '../../src/http/rate-limiter.js';
import { createRedisClient } from '../../src/redis/redis-client.js';
import { createRedisNonceStore, createRedisRateLimiter } from '../../src/redis/redis-stores.js';
import { createDatabaseNonceStore } from '../../src/db/callback-nonces.js';
import { migratedDatabase } from '../helpers/databases.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitUntil } from '../helpers/wait-until.js';
import { randomBytes } from 'node:crypto';

/** Waits for the connection: these clients fail fast (no offline queue) until it is up. */
const ready = (client: { status: string; once(event: 'ready', listener: () => void): unknown }) =>
  client.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => client.once('ready', () => resolve()));

const migratedSqlite = (t: { teardown(fn: () => unknown): void }) => migratedDatabase(t, 'sqlite');

const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const quietLogger = createConsoleLogger(true);
const redisTest = process.env.TEST_REDIS === '1' ? test : test.skip;

/** Two connected Redis clients, as two server instances would hold; disconnected when the test ends. */
async function twoInstances(t: { teardown(fn: () => unknown): void }) {
  const clients = [createRedisClient(redisUrl, quietLogger, 'publisher'), createRedisClient(redisUrl, quietLogger, 'publisher')] as const;
  t.teardown(() => clients.forEach((client) => client.disconnect()));
  await Promise.all(clients.map(ready));
  return clients;
}

redisTest('two instances share one rate-limit counter through Redis', async (t) => {
  const [a, b] = await twoInstances(t);
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

redisTest('two instances share callback nonces through Redis (SET NX), with an expiry', async (t) => {
  const [a, b] = await twoInstances(t);
  const knex = await migratedSqlite(t);
  const storeA = createRedisNonceStore(a, createDatabaseNonceStore(knex));
  const storeB = createRedisNonceStore(b, createDatabaseNonceStore(knex));
  const pair = `test-${randomBytes(6).toString('hex')}`;
  const until = Date.now() + 30_000;
  const firsts = await Promise.all([storeA.remember(pair, 'a', until), storeB.remember(pair, 'b', until)]);
  t.is(firsts[0], firsts[1], 'both instances agree on the first body');
  t.is(await storeB.remember(pair, 'c', until), firsts[0]);
  const ttl = await a.pttl(`wechat-login:nonce:${pair}`);
  t.true(ttl > 25_000 && ttl <= 30_000, `expires with the window (${ttl} ms)`);
  t.is(Number((await knex('callback_nonces').count({ n: '*' }).first())!.n), 1, 'the database, the truth, knows the pair too');
});

redisTest('a Redis outage forgets no pair: claimed before it, refused during it; first seen during it, refused after it', async (t) => {
  const proxy = await startTcpProxy('127.0.0.1', Number(new URL(redisUrl).port || 6379));
  t.teardown(() => proxy.down());
  const client = createRedisClient(`redis://127.0.0.1:${proxy.port()}`, quietLogger, 'publisher');
  t.teardown(() => client.disconnect());
  await ready(client);
  const knex = await migratedSqlite(t);
  const store = createRedisNonceStore(client, createDatabaseNonceStore(knex));
  const until = Date.now() + 30_000;
  const before = `test-${randomBytes(6).toString('hex')}`;
  const during = `test-${randomBytes(6).toString('hex')}`;
  t.is(await store.remember(before, 'genuine', until), 'genuine');

  await proxy.down();
  t.is(await store.remember(before, 'forged', until), 'genuine', 'a pair claimed before the outage is refused during it');
  t.is(await store.remember(during, 'genuine', until), 'genuine', 'new pairs are still accepted');

  await proxy.up();
  await ready(client);
  await waitUntil(async () => (await client.ping().catch(() => 'down')) === 'PONG');
  t.is(await store.remember(during, 'forged', until), 'genuine', 'a pair first seen during the outage stays refused after it');
  t.is(await store.remember(during, 'genuine', until), 'genuine', "WeChat's retry, same body, still passes");
});

test('with Redis unreachable, callback nonces fall back to the database, which still refuses a second body', async (t) => {
  const dead = createRedisClient('redis://127.0.0.1:1', quietLogger, 'publisher');
  t.teardown(() => dead.disconnect());
  const knex = await migratedSqlite(t);
  const store = createRedisNonceStore(dead, createDatabaseNonceStore(knex));
  const until = Date.now() + 30_000;
  t.is(await store.remember('pair', 'a', until), 'a');
  t.is(await store.remember('pair', 'b', until), 'a');
  t.is(Number((await knex('callback_nonces').count({ n: '*' }).first())!.n), 1);
});
