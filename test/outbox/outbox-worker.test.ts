import test from 'ava';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/knex.js';
import { createOutboxQueries, enqueueOutbox, type OutboxMessage } from '../../src/db/outbox.js';
import { createOutboxWorker, type Deliver } from '../../src/outbox/outbox-worker.js';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';
import { createTestClock } from '../helpers/test-clock.js';

const silent = { info() {}, warn() {}, error() {} };

/** `instances` knex connections (as many server instances) on one fresh, migrated database. */
async function sharedDatabase(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql', instances: number): Promise<Knex[]> {
  const database = await createTestDatabase(kind);
  const knexes = Array.from({ length: instances }, () => createKnex(database.url));
  t.teardown(async () => {
    await Promise.all(knexes.map((knex) => knex.destroy()));
    await database.drop();
  });
  await knexes[0].migrate.latest();
  return knexes;
}

const workerOn = (knex: Knex, deliver: Deliver, now: () => number) =>
  createOutboxWorker({ outbox: createOutboxQueries(knex), channels: { test: deliver }, logger: silent, now });

const message = (orderingKey: string, n: number, target = 'hook') => ({ channel: 'test', target, orderingKey, payload: { n } });

for (const { kind, enabled } of databaseKinds) {
  (enabled ? test : test.skip)(`${kind}: two instances on one database send each message once, and each key's messages in order`, async (t) => {
    const [knexA, knexB] = await sharedDatabase(t, kind, 2);
    const keys = ['u1', 'u2', 'u3', 'u4'];
    await enqueueOutbox(knexA, Array.from({ length: 40 }, (_, n) => message(keys[n % 4], n)), Date.now());
    const sent: { id: number; key: string; by: string }[] = [];
    const deliverAs = (by: string): Deliver => async (sending: OutboxMessage) => {
      await new Promise((resolve) => setImmediate(resolve));
      sent.push({ id: sending.id, key: sending.orderingKey, by });
      return 'delivered';
    };
    const a = workerOn(knexA, deliverAs('a'), Date.now);
    const b = workerOn(knexB, deliverAs('b'), Date.now);
    for (let round = 0; round < 30 && sent.length < 40; round += 1) await Promise.all([a.runOnce(), b.runOnce()]);
    t.is(sent.length, 40);
    t.is(new Set(sent.map((entry) => entry.id)).size, 40, 'no message sent twice');
    for (const key of keys) {
      const ids = sent.filter((entry) => entry.key === key).map((entry) => entry.id);
      t.deepEqual(ids, [...ids].sort((x, y) => x - y), `${key} in order`);
    }
    const states = await knexA('outbox').select('state').count({ n: '*' }).groupBy('state');
    t.deepEqual((states as Record<string, unknown>[]).map((row) => [row.state, Number(row.n)]), [['delivered', 40]]);
  });
}

test('a failing message holds back the later messages of its key to that target, and nobody else', async (t) => {
  const [knex] = await sharedDatabase(t, 'sqlite', 1);
  const clock = createTestClock();
  await enqueueOutbox(knex, [message('u1', 1), message('u1', 2), message('u2', 3), message('u1', 4, 'other-hook')], clock.now());
  const sent: number[] = [];
  let failFirst = true;
  const worker = workerOn(
    knex,
    async (sending) => {
      const { n } = sending.payload as { n: number };
      if (n === 1 && failFirst) throw new Error('connection refused');
      sent.push(n);
      return 'delivered';
    },
    clock.now,
  );
  await worker.runOnce();
  t.deepEqual(sent.sort(), [3, 4]);
  const first = await knex('outbox').where({ id: 1 }).first();
  t.is(first.state, 'pending');
  t.is(first.last_error, 'connection refused');
  const messageId = first.message_id;

  failFirst = false;
  clock.advance(10_000);
  await worker.runOnce();
  await worker.runOnce();
  t.deepEqual(sent, [3, 4, 1, 2]);
  t.is((await knex('outbox').where({ id: 1 }).first()).message_id, messageId, 'a retry keeps its message id');
});

test("a message claimed by an instance that died is sent by another once the lease is over; a given-up one is sent again on request", async (t) => {
  const [knex] = await sharedDatabase(t, 'sqlite', 1);
  const clock = createTestClock();
  await enqueueOutbox(knex, [message('u1', 1)], clock.now());
  // The dead instance claimed it and never finished.
  const [claimed] = await createOutboxQueries(knex).claimDue(['test'], clock.now(), clock.now() + 60_000, 10, new Set());
  t.truthy(claimed);
  const sent: number[] = [];
  const worker = workerOn(knex, async (sending) => (sent.push(sending.id), 'delivered'), clock.now);
  await worker.runOnce();
  t.deepEqual(sent, []);
  clock.advance(60_000);
  await worker.runOnce();
  t.deepEqual(sent, [claimed.id]);

  await knex('outbox').where({ id: claimed.id }).update({ state: 'failed' });
  t.true(await createOutboxQueries(knex).sendAgain(claimed.id, clock.now()));
  await worker.runOnce();
  t.deepEqual(sent, [claimed.id, claimed.id]);
  t.false(await createOutboxQueries(knex).sendAgain(999, clock.now()));
});

test("a dead hook's backlog does not take the other targets' turn: at most eight of its sends at once per instance", async (t) => {
  const [knex] = await sharedDatabase(t, 'sqlite', 1);
  // Fifty people's messages to a hook that hangs, then one to a hook that answers.
  await enqueueOutbox(knex, Array.from({ length: 50 }, (_, n) => message(`u${n}`, n, 'dead-hook')), Date.now());
  await enqueueOutbox(knex, [message('u0', 99, 'live-hook')], Date.now());
  const hanging: (() => void)[] = [];
  const delivered: string[] = [];
  const worker = workerOn(
    knex,
    (sending) => {
      if (sending.target === 'live-hook') {
        delivered.push(sending.target);
        return Promise.resolve('delivered');
      }
      return new Promise((resolve) => hanging.push(() => resolve('delivered')));
    },
    Date.now,
  );
  await worker.poke();
  await worker.poke();
  t.is(hanging.length, 8, 'eight sends to the dead hook, not twenty');
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(delivered, ['live-hook']);
  for (const release of hanging) release();
  await worker.close();
});
