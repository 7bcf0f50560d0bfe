import test from 'ava';
import knexFactory from 'knex';
import { knexConfigFromUrl } from '../../src/db/knex.js';
import { BrowserClient, csrfOf, sceneOf } from '../helpers/browser-client.js';
import { createTestDatabase } from '../helpers/databases.js';
import { startServerProcess, type ServerProcess } from '../helpers/process-server.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';
import { plainScanLogin } from '../helpers/server.js';
import { answer, confirmPathOf, createPersona, desktopChrome, openInWechat, scanInSimulator } from '../helpers/confirm-flow.js';
import { startSmsReceiver } from '../helpers/sms-receiver.js';

const kind = process.env.TEST_MYSQL === '1' ? 'mysql' : 'sqlite';

/** A server process on a fixed port and database, that the test can restart as an operator would. */
async function restartableServer(t: { teardown(fn: () => unknown): void }, mode: Record<string, string> = plainScanLogin) {
  const database = await createTestDatabase(kind);
  const knex = knexFactory(knexConfigFromUrl(database.url));
  await knex.migrate.latest();
  await knex.destroy();
  let current: ServerProcess = await startServerProcess({ ...mode, DATABASE_URL: database.url });
  const port = new URL(current.url).port;
  t.teardown(async () => {
    await current.stop();
    await database.drop();
  });
  return {
    url: current.url,
    async restart() {
      current.child.kill('SIGTERM');
      await current.exited;
      current = await startServerProcess({ ...mode, DATABASE_URL: database.url, PORT: port, PUBLIC_URL: `http://127.0.0.1:${port}` });
    },
  };
}

test.serial(`${kind}: a restart between the scan and the poll: the next poll still completes the login`, async (t) => {
  const server = await restartableServer(t);
  const browser = new BrowserClient(server.url);
  const scene = sceneOf(await (await browser.get('/login')).text());
  const scanned = await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_restart', event: 'subscribe', eventKey: `qrscene_${scene}` }));
  t.is(scanned.status, 200);
  await server.restart();
  const answer = await (await browser.get(`/login/poll?scene=${scene}`)).json();
  t.deepEqual(answer, { status: 'bind', redirect: '/bind' });
});

test.serial(`${kind}: a restart between the SMS code and the bind: the binding still completes`, async (t) => {
  const sms = await startSmsReceiver(t);
  const server = await restartableServer(t, { ...plainScanLogin, ...sms.env });
  const browser = new BrowserClient(server.url);
  const scene = sceneOf(await (await browser.get('/login')).text());
  await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_restart_bind', event: 'subscribe', eventKey: `qrscene_${scene}` }));
  await browser.get(`/login/poll?scene=${scene}`);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  t.is((await browser.postForm('/bind/code', { phone: '13912345678', _csrf: csrf })).status, 200);
  const code = sms.codeFor('13912345678');
  await server.restart();
  const bound = await browser.postForm('/bind', { phone: '13912345678', code, _csrf: csrf });
  t.is(bound.status, 303);
  t.is(bound.headers.get('location'), '/profile');
  t.like(await (await browser.get('/api/me')).json(), { openid: 'o_restart_bind', phone: '13912345678' });
});

test.serial(`${kind}: a restart between the scan and the confirmation: the link, the number and the poll survive it`, async (t) => {
  const server = await restartableServer(t, { LOGIN_CONFIRM: 'new-device' });
  const browser = new BrowserClient(server.url, { 'user-agent': desktopChrome });
  const scene = sceneOf(await (await browser.get('/login')).text());
  const openid = await createPersona(server, 'Restarted');
  const simulator = await scanInSimulator(server, openid, scene);
  const chatLink = (await simulator.pageOf(openid)).match(/class="chat-link" href="([^"]+)"/)![1].replaceAll('&amp;', '&');
  const path = confirmPathOf(server, `href="${new URL(chatLink, server.url).searchParams.get('url')}"`);
  const scanned = await (await browser.get(`/login/poll?scene=${scene}`)).json();
  t.is(scanned.status, 'scanned');

  await server.restart();
  // The simulator's memory went with the process; the same nickname is the same WeChat user again.
  t.is(await createPersona(server, 'Restarted'), openid);
  const confirm = await openInWechat(server, openid, path);
  t.is(confirm.status, 200);
  t.regex(confirm.html, /id="confirm-browser">Chrome 120</);
  t.is((await answer(confirm.phone, confirm.html, { number: scanned.number })).status, 200);
  t.deepEqual(await (await browser.get(`/login/poll?scene=${scene}&seen=scanned`)).json(), { status: 'bind', redirect: '/bind' });
});
