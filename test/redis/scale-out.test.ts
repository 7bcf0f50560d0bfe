import test from 'ava';
import { BrowserClient, sceneOf } from '../helpers/browser-client.js';
import { createMysqlDatabase } from '../helpers/databases.js';
import { startServerProcess } from '../helpers/process-server.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';
import { knexConfigFromUrl } from '../../src/db/knex.js';
import knexFactory from 'knex';
import { sampleValue } from '../helpers/metrics-text.js';
import { waitUntil } from '../helpers/wait-until.js';
import { plainScanLogin } from '../helpers/server.js';
import { answer, confirmPathOf, createPersona, desktopChrome, openInWechat } from '../helpers/confirm-flow.js';

const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const mysqlTest = process.env.TEST_MYSQL === '1' && process.env.TEST_REDIS === '1' ? test.serial : test.serial.skip;

const raceAgainst = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'too slow'>((resolve) => setTimeout(() => resolve('too slow'), ms))]);

async function migratedDatabase(t: { teardown(fn: () => unknown): void }) {
  const database = await createMysqlDatabase();
  const knex = knexFactory(knexConfigFromUrl(database.url));
  await knex.migrate.latest();
  await knex.destroy();
  t.teardown(() => database.drop());
  return database.url;
}

async function openLogin(url: string) {
  const browser = new BrowserClient(url);
  const scene = sceneOf(await (await browser.get('/login')).text());
  const poll = () => browser.get(`/login/poll?scene=${scene}`).then((response) => response.json() as Promise<{ status: string }>);
  return { browser, scene, poll };
}

mysqlTest('a scan processed on instance A wakes a poll held on instance B through Redis', async (t) => {
  const databaseUrl = await migratedDatabase(t);
  const env = { ...plainScanLogin, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOGIN_POLL_TIMEOUT_MS: '20000' };
  const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  const { scene, poll } = await openLogin(b.url);
  const held = poll();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  const delivered = await postCallback(a.url, signedQuery(), eventXml({ openid: 'o_across', event: 'subscribe', eventKey: `qrscene_${scene}` }));
  t.is(delivered.status, 200);
  // Without the relay, B would only notice at its 20 s timeout.
  const answer = await raceAgainst(held, 5000);
  t.deepEqual(answer, { status: 'bind', redirect: '/bind' });
  t.log(`callback on A to poll answered on B: ${Date.now() - started} ms`);
});

mysqlTest('a retried delivery that lands on the other instance gets the same reply and one effect', async (t) => {
  const databaseUrl = await migratedDatabase(t);
  const env = { ...plainScanLogin, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
  const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  const { scene } = await openLogin(a.url);
  const body = eventXml({ openid: 'o_retry', event: 'subscribe', eventKey: `qrscene_${scene}`, createTime: Math.floor(Date.now() / 1000) });
  const first = await postCallback(a.url, signedQuery(), body);
  const retry = await postCallback(b.url, signedQuery(), body);
  t.is(first.status, 200);
  t.is(retry.text, first.text);
});

mysqlTest('with Redis unreachable, the poll still finds the login at its next database check, and no page errors', async (t) => {
  const databaseUrl = await migratedDatabase(t);
  const env = { ...plainScanLogin, DATABASE_URL: databaseUrl, REDIS_URL: 'redis://127.0.0.1:1', LOGIN_POLL_TIMEOUT_MS: '1500' };
  const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  const { browser, scene, poll } = await openLogin(b.url);
  const held = poll();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const delivered = await postCallback(a.url, signedQuery(), eventXml({ openid: 'o_noredis', event: 'subscribe', eventKey: `qrscene_${scene}` }));
  t.is(delivered.status, 200);
  t.deepEqual(await held, { status: 'bind', redirect: '/bind' });
  t.is((await browser.get('/bind')).status, 200);
  t.regex(a.output() + b.output(), /redis unavailable/);
});

mysqlTest('SIGTERM: held polls answer pending at once, and the process exits 0 within 10 s', async (t) => {
  const databaseUrl = await migratedDatabase(t);
  const server = await startServerProcess({ ...plainScanLogin, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOGIN_POLL_TIMEOUT_MS: '20000' });
  t.teardown(() => server.stop());
  const { poll } = await openLogin(server.url);
  const held = [poll(), poll()];
  // The held-polls gauge tells when both polls are held.
  await waitUntil(async () => sampleValue(await (await fetch(`${server.url}/metrics`)).text(), 'wechat_login_held_polls') === 2);
  const started = Date.now();
  server.child.kill('SIGTERM');
  const answers = await raceAgainst(Promise.all(held), 3000);
  t.deepEqual(answers, [{ status: 'pending' }, { status: 'pending' }]);
  const code = await raceAgainst(server.exited, 10_000);
  t.is(code, 0);
  t.log(`SIGTERM to exit: ${Date.now() - started} ms`);
  t.regex(server.output(), /"stopped"/);
});

mysqlTest('LOGIN_CONFIRM: scanned and confirmed on instance A, the poll held on instance B wakes through Redis', async (t) => {
  const databaseUrl = await migratedDatabase(t);
  const env = { LOGIN_CONFIRM: 'new-device', DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOGIN_POLL_TIMEOUT_MS: '20000' };
  const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  const browser = new BrowserClient(b.url, { 'user-agent': desktopChrome });
  const scene = sceneOf(await (await browser.get('/login')).text());
  const pollB = (seen = '') => browser.get(`/login/poll?scene=${scene}${seen}`).then((response) => response.json() as Promise<{ status: string; number?: string }>);
  const openid = await createPersona(a, 'Across');

  const firstPoll = pollB();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const delivered = await postCallback(a.url, signedQuery(), eventXml({ openid, event: 'subscribe', eventKey: `qrscene_${scene}` }));
  t.is(delivered.status, 200);
  const scanned = await raceAgainst(firstPoll, 5000);
  t.like(scanned, { status: 'scanned' });
  const number = (scanned as { number: string }).number;

  const held = pollB('&seen=scanned');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const confirm = await openInWechat(a, openid, confirmPathOf(a, delivered.text));
  t.regex(confirm.html, /id="confirm-browser">Chrome 120</);
  t.is((await answer(confirm.phone, confirm.html, { number })).status, 200);
  t.deepEqual(await raceAgainst(held, 5000), { status: 'bind', redirect: '/bind' });
});
