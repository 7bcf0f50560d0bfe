import test from 'ava';
import { csrfOf } from '../helpers/browser-client.js';
import { databaseKinds } from '../helpers/databases.js';
import { bindPhone, openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { secret, startReceiver, verify } from '../helpers/webhook-receiver.js';
import { createTestClock } from '../helpers/test-clock.js';


async function logIn(server: Parameters<typeof phoneFor>[0], openid: string, phone?: string) {
  const { browser, scene } = await openLoginPage(server);
  const pending = poll(browser, scene);
  await phoneFor(server).scan(openid, scene, 'ticket', true);
  const answer = await pending;
  if (answer.body.status === 'bind') await bindPhone(server, browser, phone!);
  return browser;
}

for (const { kind, enabled } of databaseKinds) {
  (enabled ? test : test.skip)(`${kind}: a person's life as webhooks, each verified by the Standard Webhooks library, in order`, async (t) => {
    const receiver = await startReceiver(t);
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, WEBHOOKS: JSON.stringify([{ url: receiver.url, secret }]) } });
    const browser = await logIn(server, 'o_webhook_life', '13800138061');
    const csrf = csrfOf(await (await browser.get('/profile')).text());
    await browser.postForm('/logout', { _csrf: csrf });
    await phoneFor(server).unfollow('o_webhook_life');
    for (let round = 0; round < 10 && receiver.received.length < 5; round += 1) await server.handle.jobs.sendOutbox();

    const events = receiver.received.map(verify);
    const user = await server.knex('users').where({ openid: 'o_webhook_life' }).first('id');
    t.deepEqual(
      events.map((event) => event.type),
      ['user.created', 'user.phone_bound', 'user.login', 'session.ended', 'user.unfollowed'],
    );
    t.true(events.every((event) => event.data.userId === user.id));
    t.is(events[0].data.openid, 'o_webhook_life');
    t.is(events[1].data.phone, '13800138061');
    t.is(events[2].data.method, 'qrcode');
    t.is(events[2].data.ip, '127.0.0.1');
    t.is(events[3].data.reason, 'logout');
    t.is(new Set(receiver.received.map((request) => request.headers['webhook-id'])).size, 5);
    // A forged or altered request fails the same check.
    t.throws(() => verify({ ...receiver.received[0], body: receiver.received[0].body.replace('user.created', 'user.deleted') }));
  });
}

test('a hook that fails gets the same webhook-id again after the backoff, until it answers 2xx', async (t) => {
  const clock = createTestClock();
  const receiver = await startReceiver(t);
  receiver.state.status = 500;
  const server = await startServer(t, { clock: clock.now, env: { ...plainScanLogin, WEBHOOKS: JSON.stringify([{ url: receiver.url, secret, events: ['user.created'] }]) } });
  await logIn(server, 'o_webhook_retry', '13800138062');
  await server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 1);
  receiver.state.status = 200;
  clock.advance(10_000);
  await server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 2);
  t.is(receiver.received[1].headers['webhook-id'], receiver.received[0].headers['webhook-id']);
  t.is(verify(receiver.received[1]).type, 'user.created');
  const [row] = await server.knex('outbox').where({ channel: 'webhook' });
  t.is(row.state, 'delivered');
});

test('a hook that never answers does not slow a login', async (t) => {
  const receiver = await startReceiver(t);
  receiver.state.hang = true;
  const server = await startServer(t, { env: { ...plainScanLogin, WEBHOOKS: JSON.stringify([{ url: receiver.url, secret }]) } });
  await logIn(server, 'o_webhook_slow', '13800138063');
  // The sends are under way (and hanging) while the same person logs in again in another browser.
  const sending = server.handle.jobs.sendOutbox();
  const { browser, scene } = await openLoginPage(server);
  const pending = poll(browser, scene);
  await phoneFor(server).scan('o_webhook_slow', scene, 'ticket', true);
  t.is((await pending).body.status, 'success');
  t.true(receiver.received.length >= 1, 'the hook got a request and holds it');
  for (const held of receiver.state.held) held.writeHead(204).end();
  await sending;
});

test('WEBHOOKS: a url, a whsec_ secret and known events, each problem named without quoting the secret', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config.js');
  const problems = (hooks: unknown) => {
    try {
      loadConfig({ WEBHOOKS: JSON.stringify(hooks) });
      return '';
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.message;
    }
  };
  t.is(problems([{ url: 'http://127.0.0.1:9/h', secret }]), '');
  t.regex(problems([{ url: 'ftp://x', secret }]), /hook #1 needs a url/);
  t.regex(problems([{ url: 'https://x.example/h', secret: 'plain-secret-value' }]), /hook #1 needs a secret in the Standard Webhooks form/);
  t.notRegex(problems([{ url: 'https://x.example/h', secret: 'plain-secret-value' }]), /plain-secret-value/);
  t.regex(problems([{ url: 'https://x.example/h', secret, events: ['user.deleted'] }]), /hook #1 has bad events/);
});

test('npm run admin -- webhooks lists a failing delivery, and --resend sends it again with the same webhook-id', async (t) => {
  const { runAdmin } = await import('../../src/admin/cli.js');
  const { createAdminQueries } = await import('../../src/db/admin-queries.js');
  const { createOutboxQueries } = await import('../../src/db/outbox.js');
  const receiver = await startReceiver(t);
  receiver.state.status = 503;
  const server = await startServer(t, { env: { ...plainScanLogin, WEBHOOKS: JSON.stringify([{ url: receiver.url, secret, events: ['user.created'] }]) } });
  await logIn(server, 'o_webhook_admin', '13800138064');
  await server.handle.jobs.sendOutbox();
  const lines: string[] = [];
  const io = { out: (text: string) => lines.push(text), err: (text: string) => lines.push(text) };
  const admin = (...argv: string[]) => runAdmin(argv, createAdminQueries(server.knex), io, undefined, createOutboxQueries(server.knex));
  t.is(await admin('webhooks'), 0);
  const [row] = await server.knex('outbox').where({ channel: 'webhook' });
  t.regex(lines.join('\n'), new RegExp(`^${row.id}  pending  webhook user.created .* 1 attempt\\(s\\) .*answered 503`, 'm'));
  receiver.state.status = 200;
  t.is(await admin('webhooks', '--resend', String(row.id)), 0);
  await server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 2);
  t.is(receiver.received[1].headers['webhook-id'], receiver.received[0].headers['webhook-id']);
  t.is(await admin('webhooks', '--resend', 'x'), 2);
});

test('login.denied: the scanner refuses on the phone, and the hook hears who', async (t) => {
  const { answer, confirmPathOf, createPersona, openInWechat, openLoginAs } = await import('../helpers/confirm-flow.js');
  const receiver = await startReceiver(t);
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'always', WEBHOOKS: JSON.stringify([{ url: receiver.url, secret, events: ['login.denied'] }]) } });
  // A simulator persona, so that the confirm link opens in WeChat as that person.
  const denier = await createPersona(server, 'Denier');
  const { browser, scene } = await openLoginAs(server);
  const reply = await phoneFor(server).scan(denier, scene, 'ticket', false);
  const confirm = await openInWechat(server, denier, confirmPathOf(server, reply.replyText));
  await answer(confirm.phone, confirm.html, 'deny');
  t.is((await poll(browser, scene)).body.status, 'denied');
  await server.handle.jobs.sendOutbox();
  const [event] = receiver.received.map(verify);
  const user = await server.knex('users').where({ openid: denier }).first('id');
  t.like(event, { type: 'login.denied', data: { userId: user.id, openid: denier } });
  t.is(receiver.received.length, 1);
});
