import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { csrfOf } from '../helpers/browser-client.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../helpers/server.js';

/** A provider's webhook on a real socket; `status` is what it answers. */
async function startWebhook(t: { teardown(fn: () => unknown): void }, status: number) {
  const received: unknown[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ type: req.headers['content-type'], body: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`, received };
}

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
  const webhook = await startWebhook(t, 200);
  const { server, response } = await requestCode(t, webhook.url);
  t.is(response.status, 200);
  t.is(webhook.received.length, 1);
  const [{ type, body }] = webhook.received as [{ type: string; body: { phone: string; code: string; purpose: string } }];
  t.is(type, 'application/json');
  t.is(body.phone, '13612345678');
  t.regex(body.code, /^\d{6}$/);
  t.is(body.purpose, 'bind');
  t.is(server.handle.smsInbox.list().length, 0);
  t.false(JSON.stringify(server.logs).includes(body.code), 'the code never reaches the log');
});

test('a failing webhook gives a clear 503 page, not a 500', async (t) => {
  const webhook = await startWebhook(t, 500);
  const { server, response } = await requestCode(t, webhook.url);
  t.is(response.status, 503);
  t.regex(await response.text(), /服务暂时不可用/);
  // Nothing half-written: the unsent code is gone, so an immediate retry is not "too soon".
  t.is(Number((await server.knex('sms_codes').count({ n: '*' }).first())!.n), 0);
});
