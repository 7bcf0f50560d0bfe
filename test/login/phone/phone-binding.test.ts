import test from 'ava';
import { BrowserClient, csrfOf } from '../../helpers/browser-client.js';
import { databaseKinds } from '../../helpers/databases.js';
import { latestCode, logInNewUser, openLoginPage, phoneFor, poll } from '../../helpers/login-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../../helpers/server.js';

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
    t.is(Number((await server.knex('user_sessions').count({ n: '*' }).first())!.n), 1, 'one login');
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
  declare(`${kind}: someone asking for codes to your number spends neither your resend interval nor your hourly allowance`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, SMS_MAX_PER_PHONE_PER_HOUR: '5' } });
    const attacker = await pendingBinding(server, 'o_sms_attacker');
    const owner = await pendingBinding(server, 'o_sms_owner');
    // Five codes to the victim's number, one a minute (the interval is moved on here instead of waited for),
    // then this requester's hourly allowance for that number is spent.
    for (let sent = 0; sent < 5; sent += 1) {
      t.is((await attacker.sendCode('13500000009')).status, 200, `attacker send ${sent + 1}`);
      await server.knex('sms_send_slots').update({ blocked_until: new Date(0) });
    }
    t.is((await attacker.sendCode('13500000009')).status, 429);
    // The attacker has just asked again; the owner of the number asks in the same second: a code.
    await server.knex('sms_send_slots').update({ blocked_until: new Date(Date.now() + 60_000) });
    t.is((await owner.sendCode('13500000009')).status, 200);
    t.is(server.handle.smsInbox.list().filter((sms) => sms.phone === '13500000009').length, 6);
  });

  declare(`${kind}: the ceiling per phone over every requester holds under parallel requests`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, SMS_PHONE_CEILING_PER_HOUR: '3' } });
    const requesters = await Promise.all(Array.from({ length: 6 }, (_, index) => pendingBinding(server, `o_ceiling_${index}`)));
    const statuses = await Promise.all(requesters.map((requester) => requester.sendCode('13500000010').then((response) => response.status)));
    t.deepEqual([...statuses].sort(), [200, 200, 200, 429, 429, 429]);
    t.is(server.handle.smsInbox.list().filter((sms) => sms.phone === '13500000010').length, 3);
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

test('issue 24: the bind page says when a new code may be asked for, how many tries are left, and what to do with a taken number', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, SMS_RESEND_INTERVAL_SECONDS: '60' } });
  await logInNewUser(server, 'o_holder24', '13500000024');
  const binding = await pendingBinding(server, 'o_newcomer24');

  // Sent: the page says when the next code may go (the script turns it into a countdown on the button).
  const sent = await binding.sendCode('13500000025');
  t.is(sent.status, 200);
  const page = await sent.text();
  t.regex(page, /id="resend-hint" data-seconds="60"/);
  t.regex(page, />60 秒后可重新获取验证码。</);
  t.regex(page, /<script src="\/static\/js\/bind\.js" defer><\/script>/);
  t.regex(page, /id="send-code">重新获取验证码</);
  const tooSoon = await binding.sendCode('13500000025');
  t.is(tooSoon.status, 429);
  t.regex(await tooSoon.text(), /请 (59|60) 秒后再试/, 'the seconds really left');

  // Wrong codes: the tries left, down to none.
  const code = latestCode(server, '13500000025');
  const wrong = code === '000000' ? '111111' : '000000';
  const said: string[] = [];
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const refused = await binding.bind('13500000025', wrong);
    t.is(refused.status, 422);
    said.push((await refused.text()).match(/id="bind-error" role="alert">([^<]+)</)![1]);
  }
  t.deepEqual(said, [
    '验证码错误，还可以再试 4 次。',
    '验证码错误，还可以再试 3 次。',
    '验证码错误，还可以再试 2 次。',
    '验证码错误，还可以再试 1 次。',
    '验证码错误，次数已用完，请重新获取验证码。',
  ]);
  t.is((await binding.bind('13500000025', code)).status, 429, 'no tries left means none');

  // A free number and a taken one get the same answer to "send a code" (the resend interval included)...
  await server.knex('sms_send_slots').update({ blocked_until: new Date(0) });
  const prober = await pendingBinding(server, 'o_prober24');
  const free = visible(await (await prober.sendCode('13500000026')).text()).replaceAll('13500000026', 'PHONE');
  const taken = visible(await (await prober.sendCode('13500000024')).text()).replaceAll('13500000024', 'PHONE');
  t.is(taken, free);
  // ...and only after the code, which proves the number is theirs, is it said, with the ways on.
  const conflict = await prober.bind('13500000024', latestCode(server, '13500000024'));
  t.is(conflict.status, 409);
  const html = await conflict.text();
  t.regex(html, /id="phone-taken"[\s\S]*该手机号已绑定其他微信账号。[\s\S]*请用绑定它的那个微信账号扫码登录；也可以换一个手机号绑定。/);
  t.regex(html, /<a class="button" id="taken-login" href="\/login">用那个微信账号登录<\/a>/);
  t.regex(html, /<a class="button secondary" id="taken-other-number" href="\/bind">换一个手机号<\/a>/);
  t.false(html.includes('id="code"'), 'no code form to try again with');
  const back = await prober.browser.get('/bind');
  t.is(back.status, 200);
  t.regex(await back.text(), /id="phone-send"/);
  // In English too.
  const english = await prober.browser.request('/bind', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' },
    body: new URLSearchParams({ phone: '13500000024', code: latestCode(server, '13500000024'), _csrf: prober.csrf }).toString(),
  });
  t.is(english.status, 409);
  t.regex(await english.text(), /log in by scanning with the WeChat account it is bound to\. Or bind another number\.[\s\S]*Log in with that WeChat account[\s\S]*Use another number/);
});

test('issue 24: one try left is said in the singular in English; without limits no count is given', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, SMS_CODE_MAX_ATTEMPTS: '2' } });
  const binding = await pendingBinding(server, 'o_singular');
  const english = { 'accept-language': 'en' };
  await binding.browser.request('/bind/code', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...english },
    body: new URLSearchParams({ phone: '13500000027', _csrf: binding.csrf }).toString(),
  });
  const wrong = latestCode(server, '13500000027') === '000000' ? '111111' : '000000';
  const refused = await binding.browser.request('/bind', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...english },
    body: new URLSearchParams({ phone: '13500000027', code: wrong, _csrf: binding.csrf }).toString(),
  });
  t.regex(await refused.text(), />That code is wrong\. 1 try left\.</);

  const unlimited = await startServer(t, { env: { ...plainScanLogin, RATE_LIMITS: 'off' } });
  const free = await pendingBinding(unlimited, 'o_unlimited');
  const page = await (await free.sendCode('13500000028')).text();
  t.false(page.includes('id="resend-hint"'), 'no interval to wait');
  const guess = await free.bind('13500000028', latestCode(unlimited, '13500000028') === '000000' ? '111111' : '000000');
  t.regex(await guess.text(), />验证码错误，请重新输入。</);
});
