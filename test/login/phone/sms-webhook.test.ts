import test from 'ava';
import { startSmsReceiver } from '../../helpers/sms-receiver.js';
import { csrfOf } from '../../helpers/browser-client.js';
import { openLoginPage, phoneFor, poll } from '../../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../../helpers/server.js';

async function requestCode(t: { teardown(fn: () => unknown): void }, webhookUrl: string) {
  const server = await startServer(t, { env: { ...plainScanLogin, SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: webhookUrl } });
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan('o_sms', scene, 'ticket', false);
  await poll(browser, scene);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  const response = await browser.postForm('/bind/code', { phone: '13612345678', _csrf: csrf });
  return { server, response };
}

test('SMS_PROVIDER=webhook POSTs {phone, code, purpose} as JSON, and logs no code', async (t) => {
  const webhook = await startSmsReceiver(t, 200);
  const { server, response } = await requestCode(t, webhook.url);
  t.is(response.status, 200);
  t.is(webhook.received.length, 1);
  const [body] = webhook.received;
  t.deepEqual(webhook.contentTypes, ['application/json']);
  t.is(body.phone, '13612345678');
  t.regex(body.code, /^\d{6}$/);
  t.is(body.purpose, 'bind');
  t.is(server.handle.smsInbox.list().length, 0);
  t.false(JSON.stringify(server.logs).includes(body.code), 'the code never reaches the log');
});

test('a failing webhook gives a clear 503 page, not a 500', async (t) => {
  const webhook = await startSmsReceiver(t, 500);
  const { server, response } = await requestCode(t, webhook.url);
  t.is(response.status, 503);
  t.regex(await response.text(), /服务暂时不可用/);
  // Nothing half-written: the unsent code is gone, so an immediate retry is not "too soon".
  t.is(Number((await server.knex('sms_codes').count({ n: '*' }).first())!.n), 0);
});
