import test from 'ava';
import { BrowserClient, csrfOf } from '../helpers/browser-client.js';
import { databaseKinds } from '../helpers/databases.js';
import { latestCode, logInNewUser, openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../helpers/server.js';

/** A browser whose scan by `openid` left it a pending binding, on the bind page. */
async function pendingBinding(server: TestServer, openid: string) {
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan(openid, scene, 'ticket', false);
  const answer = await poll(browser, scene);
  if (answer.body.status !== 'bind') throw new Error(`expected bind, got ${answer.body.status}`);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  const sendCode = (phone: string) => browser.postForm('/bind/code', { phone, _csrf: csrf });
  const bind = (phone: string, code: string) => browser.postForm('/bind', { phone, code, _csrf: csrf });
  return { browser, csrf, sendCode, bind };
}

function copyOf(server: TestServer, browser: BrowserClient): BrowserClient {
  const copy = new BrowserClient(server.url);
  copy.setCookies(browser.cookieHeader());
  return copy;
}

/** What a page says to a person, without the per-session CSRF token. */
const visible = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, '');

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: /bind/code answers the same for a registered and a free number, before and past the IP cap`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, SMS_MAX_PER_IP_PER_HOUR: '3', SMS_RESEND_INTERVAL_SECONDS: '0' } });
    await logInNewUser(server, 'o_owner', '13500000001');
    const prober = await pendingBinding(server, 'o_prober');
    const answers = [];
    for (const phone of ['13500000001', '13500000002', '13500000001', '13500000002']) {
      const response = await prober.sendCode(phone);
      answers.push({ status: response.status, page: visible(await response.text()).replaceAll(phone, 'PHONE') });
    }
    t.is(answers[0].status, 200);
    t.deepEqual(answers[0], answers[1], 'registered and free: the same status and page');
    t.is(answers[2].status, 429, 'past the IP cap (the owner\'s login used one)');
    t.deepEqual(answers[2], answers[3], 'past the cap: the same 429 for both');
  });

  declare(`${kind}: 60 parallel wrong guesses: exactly the allowed attempts are checked, then the code is dead`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, BIND_MAX_ATTEMPTS_PER_IP_PER_HOUR: '10000' } });
    const binding = await pendingBinding(server, 'o_guess');
    t.is((await binding.sendCode('13500000003')).status, 200);
    const code = latestCode(server, '13500000003');
    const wrong = code === '000000' ? '000001' : '000000';
    const statuses = await Promise.all(Array.from({ length: 60 }, () => binding.bind('13500000003', wrong).then((r) => r.status)));
    t.is(statuses.filter((status) => status === 422).length, 5, 'five wrong codes were checked');
    t.is(statuses.filter((status) => status === 429).length, 55);
    const row = await server.knex('sms_codes').where({ phone: '13500000003' }).first();
    t.is(Number(row.attempts), 5);
    t.is((await binding.bind('13500000003', code)).status, 429, 'even the right code is refused now');
    t.is((await server.knex('users').where({ openid: 'o_guess' }).first()).phone, null);
  });

  declare(`${kind}: 50 parallel sends to one phone send one SMS`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, SMS_MAX_PER_IP_PER_HOUR: '1000', SMS_MAX_PER_USER_PER_HOUR: '1000' } });
    const binding = await pendingBinding(server, 'o_burst');
    const statuses = await Promise.all(Array.from({ length: 50 }, () => binding.sendCode('13500000004').then((r) => r.status)));
    t.is(statuses.filter((status) => status === 200).length, 1);
    t.is(statuses.filter((status) => status === 429).length, 49);
    t.is(server.handle.smsInbox.list().filter((sms) => sms.phone === '13500000004').length, 1);
    t.is(Number((await server.knex('sms_codes').where({ phone: '13500000004' }).count({ n: '*' }).first())!.n), 1);
  });

  declare(`${kind}: another user's wrong guesses cannot burn your code`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, SMS_RESEND_INTERVAL_SECONDS: '0' } });
    const victim = await pendingBinding(server, 'o_victim');
    const attacker = await pendingBinding(server, 'o_attacker');
    t.is((await victim.sendCode('13500000005')).status, 200);
    const code = latestCode(server, '13500000005');
    for (let attempt = 0; attempt < 6; attempt += 1) {
      t.not((await attacker.bind('13500000005', code === '123456' ? '654321' : '123456')).status, 303);
    }
    const bound = await victim.bind('13500000005', code);
    t.is(bound.status, 303);
    t.is((await server.knex('users').where({ openid: 'o_victim' }).first()).phone, '13500000005');
    t.is((await server.knex('users').where({ openid: 'o_attacker' }).first()).phone, null);
  });

  declare(`${kind}: a second copy of a pending binding is refused and changes nothing`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const first = await pendingBinding(server, 'o_twice');
    const second = copyOf(server, first.browser);
    t.is((await first.sendCode('13500000006')).status, 200);
    t.is((await second.postForm('/bind/code', { phone: '13500000007', _csrf: first.csrf })).status, 200);
    t.is((await first.bind('13500000006', latestCode(server, '13500000006'))).status, 303);
    const refused = await second.postForm('/bind', { phone: '13500000007', code: latestCode(server, '13500000007'), _csrf: first.csrf });
    t.is(refused.status, 422);
    t.regex(await refused.text(), /绑定已失效/);
    t.is((await server.knex('users').where({ openid: 'o_twice' }).first()).phone, '13500000006');
    t.is(Number((await server.knex('login_history').count({ n: '*' }).first())!.n), 1, 'one login');
    t.is((await second.get('/api/me')).status, 401);
  });

  declare(`${kind}: unfollowing ends a pending binding made before`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const binding = await pendingBinding(server, 'o_gone');
    t.is((await binding.sendCode('13500000008')).status, 200);
    await phoneFor(server).unfollow('o_gone');
    const refused = await binding.bind('13500000008', latestCode(server, '13500000008'));
    t.is(refused.status, 422);
    t.is((await server.knex('users').where({ openid: 'o_gone' }).first()).phone, null);
    t.is((await binding.browser.get('/api/me')).status, 401);
  });

  declare(`${kind}: a taken number is refused with 409 after the code, and the code can still bind a free number`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, SMS_RESEND_INTERVAL_SECONDS: '0' } });
    await logInNewUser(server, 'o_holder', '13500000009');
    const binding = await pendingBinding(server, 'o_late');
    await binding.sendCode('13500000009');
    t.is((await binding.bind('13500000009', latestCode(server, '13500000009'))).status, 409);
    await binding.sendCode('13500000010');
    t.is((await binding.bind('13500000010', latestCode(server, '13500000010'))).status, 303);
  });
}

test('the per-user and the server-wide hourly SMS budgets', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, SMS_RESEND_INTERVAL_SECONDS: '0', SMS_MAX_PER_USER_PER_HOUR: '2', SMS_MAX_PER_HOUR: '3' } });
  const one = await pendingBinding(server, 'o_budget1');
  const two = await pendingBinding(server, 'o_budget2');
  t.deepEqual([(await one.sendCode('13600000001')).status, (await one.sendCode('13600000002')).status, (await one.sendCode('13600000003')).status], [200, 200, 429]);
  t.is((await two.sendCode('13600000004')).status, 200);
  const overBudget = await two.sendCode('13600000005');
  t.is(overBudget.status, 429);
  t.regex(await overBudget.text(), /短信发送繁忙/);
  t.is(server.handle.smsInbox.list().length, 3);
});
