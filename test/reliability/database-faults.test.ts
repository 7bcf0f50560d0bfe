import test from 'ava';
import { createMysqlDatabase } from '../helpers/databases.js';
import { openLoginPage, poll } from '../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../helpers/server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

const mysqlTest = process.env.TEST_MYSQL === '1' ? test.serial : test.serial.skip;

mysqlTest('the database down during a callback: non-2xx, /healthz 503, and the retried delivery completes the login', async (t) => {
  // The server reaches MariaDB through a proxy the test can cut.
  const database = await createMysqlDatabase();
  const target = new URL(database.url);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 3306));
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port());
  // Teardowns run last-registered first: the proxy comes back up, the server closes, then the proxy and the database go.
  t.teardown(() => database.drop());
  t.teardown(() => proxy.down());
  const server = await startServer(t, { database: 'mysql', env: { ...plainScanLogin, DATABASE_URL: viaProxy.toString() } });
  t.teardown(() => proxy.up());

  const { browser, scene } = await openLoginPage(server);
  const body = eventXml({ openid: 'o_outage', event: 'subscribe', eventKey: `qrscene_${scene}`, createTime: Math.floor(Date.now() / 1000) });

  await proxy.down();
  const failed = await postCallback(server.url, signedQuery(), body);
  t.true(failed.status >= 500, `WeChat must see a failure so that it retries (got ${failed.status})`);
  t.notRegex(failed.text, /ECONNREFUSED|Error|at /);
  const health = await fetch(`${server.url}/healthz`);
  t.is(health.status, 503);
  const pollDuringOutage = await browser.get(`/login/poll?scene=${scene}`);
  t.is(pollDuringOutage.status, 503);

  await proxy.up();
  const retried = await postCallback(server.url, signedQuery(), body);
  t.is(retried.status, 200);
  t.is((await fetch(`${server.url}/healthz`)).status, 200);
  t.deepEqual((await poll(browser, scene)).body, { status: 'bind', redirect: '/bind' });
});
