import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { createSimulatedPhone } from '../../src/simulator/phone.js';
import { BrowserClient, sceneOf } from '../helpers/browser-client.js';
import { createMysqlDatabase } from '../helpers/databases.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { freePort, startServerProcess } from '../helpers/process-server.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait-until.js';
import { secret, startReceiver, verify } from '../helpers/webhook-receiver.js';

const mysqlTest = process.env.TEST_MYSQL === '1' ? test : test.skip;

mysqlTest('two instances on one MariaDB database: every event is delivered once, whichever instance sends it', async (t) => {
  const database = await createMysqlDatabase();
  t.teardown(() => database.drop());
  const receiver = await startReceiver(t);
  const env = { ...plainScanLogin, WEBHOOKS: JSON.stringify([{ url: receiver.url, secret }]) };
  const a = await startServer(t, { database: 'mysql', sharedDatabase: database, env });
  const b = await startServer(t, { database: 'mysql', sharedDatabase: database, env });
  // Newcomers scan on instance A (user.created each), and two unfollow (user.unfollowed).
  for (let person = 0; person < 6; person += 1) {
    const { browser, scene } = await openLoginPage(a);
    const pending = poll(browser, scene);
    await phoneFor(a).scan(`o_two_instances_${person}`, scene, 'ticket', true);
    await pending;
  }
  await phoneFor(a).unfollow('o_two_instances_0');
  await phoneFor(a).unfollow('o_two_instances_1');
  const written = Number((await a.knex('outbox').where({ channel: 'webhook' }).count({ n: '*' }))[0].n);
  t.is(written, 8);
  // Both instances send at once, round after round (their own timers run too).
  for (let round = 0; round < 10 && receiver.received.length < written; round += 1) await Promise.all([a.handle.jobs.sendOutbox(), b.handle.jobs.sendOutbox()]);
  await waitUntil(async () => Number((await a.knex('outbox').where({ state: 'delivered' }).count({ n: '*' }))[0].n) === written);
  const ids = receiver.received.map((request) => request.headers['webhook-id']);
  t.is(ids.length, written, 'no event sent twice');
  t.is(new Set(ids).size, written);
  t.true(receiver.received.every((request) => ['user.created', 'user.unfollowed'].includes(verify(request).type)));
});

test('the server killed (SIGKILL) with events not yet delivered: the next start delivers each of them, under its own webhook-id', async (t) => {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'webhook-restart-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  // The hook is down while the first process runs: nothing can be delivered.
  const hookPort = await freePort();
  const env = {
    ...plainScanLogin,
    DATABASE_URL: `sqlite:${path.join(folder, 'db.sqlite3')}`,
    WEBHOOKS: JSON.stringify([{ url: `http://127.0.0.1:${hookPort}/hooks`, secret }]),
  };
  const first = await startServerProcess(env);
  t.teardown(() => first.stop());
  const config = loadConfig({ ...env, PUBLIC_URL: first.url });
  const phone = createSimulatedPhone({
    callbackUrl: `${first.url}/wechat/callback`,
    token: config.wechat.token,
    appId: config.wechat.appId,
    accountId: config.wechat.originalId!,
    encodingAesKey: config.wechat.encodingAesKey,
    now: Date.now,
  });
  for (let person = 0; person < 3; person += 1) {
    const browser = new BrowserClient(first.url, { 'user-agent': 'ava-test-browser' });
    const scene = sceneOf(await (await browser.get('/login')).text());
    await phone.scan(`o_killed_${person}`, scene, 'ticket', true);
  }
  await phone.unfollow('o_killed_0');
  first.child.kill('SIGKILL');
  await first.exited;

  const receiver = await startReceiver(t, hookPort);
  const second = await startServerProcess({ ...env, PORT: String(await freePort()) });
  t.teardown(() => second.stop());
  // The first process's failed attempt put each message 10 s off (its backoff); the second sends them when due.
  await waitUntil(() => receiver.received.length >= 4, 30_000);
  const events = receiver.received.map(verify);
  t.deepEqual(events.map((event) => event.type).sort(), ['user.created', 'user.created', 'user.created', 'user.unfollowed']);
  t.is(new Set(receiver.received.map((request) => request.headers['webhook-id'])).size, receiver.received.length, 'none twice with different ids');
});
