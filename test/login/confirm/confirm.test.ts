import test from 'ava';
import { wechatTexts } from '../../../src/messages/wechat-texts.js';
import {
  answer,
  chatOf,
  confirmPathOf,
  createPersona,
  desktopChrome,
  desktopFirefoxLinux,
  follow,
  openInWechat,
  openLoginAs,
  numbersOf,
  scanInSimulator,
} from '../../helpers/confirm-flow.js';
import { databaseKinds } from '../../helpers/databases.js';
import { sampleValue } from '../../helpers/metrics-text.js';
import { bindPhone, phoneFor, poll } from '../../helpers/login-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { openSimulator } from '../../helpers/simulator-phone.js';
import { createTestClock } from '../../helpers/test-clock.js';
import { waitUntil } from '../../helpers/wait-until.js';
import type { BrowserClient } from '../../helpers/browser-client.js';

async function setup(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql' = 'sqlite', env: Record<string, string> = {}) {
  return startServer(t, { database: kind, env: { LOGIN_POLL_TIMEOUT_MS: '1500', ...env } });
}

/** A poll that does not return `scanned` again while the page already shows the number. */
async function pollAfterScanned(browser: BrowserClient, scene: string) {
  const response = await browser.get(`/login/poll?scene=${encodeURIComponent(scene)}&seen=scanned`);
  return (await response.json()) as { status: string; redirect?: string; number?: string };
}

async function logOut(browser: BrowserClient) {
  const profile = await (await browser.get('/profile')).text();
  await browser.postForm('/logout', { _csrf: profile.match(/name="_csrf" value="([^"]+)"/)![1] });
}

/** New user, first login in this browser: scan, confirm on the phone, bind. Returns the logged-in browser. */
async function firstLoginWithConfirmation(server: TestServer, openid: string, phoneNumber: string) {
  const { browser, scene } = await openLoginAs(server);
  const reply = await phoneFor(server).scan(openid, scene, 'ticket', false);
  const scanned = (await poll(browser, scene)).body as { status: string; number?: string };
  const confirm = await openInWechat(server, openid, confirmPathOf(server, reply.replyText));
  await answer(confirm.phone, confirm.html, { number: scanned.number! });
  await pollAfterScanned(browser, scene);
  const bound = await bindPhone(server, browser, phoneNumber);
  if (bound.status !== 303) throw new Error(`bind answered ${bound.status}`);
  return browser;
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: a new device waits for the scanner: scanned with a number, confirmed on the phone, then bind`, async (t) => {
    const server = await setup(t, kind);
    const openid = await createPersona(server, 'Alice');
    const { browser, scene } = await openLoginAs(server);
    const reply = await phoneFor(server).scan(openid, scene, 'ticket', false);
    t.is(reply.status, 200);
    t.regex(reply.replyText!, /Chrome 120 · Windows 10/);
    t.regex(reply.replyText!, /IP 127\.0\.0\.1/);
    const path = confirmPathOf(server, reply.replyText);

    const first = await poll(browser, scene);
    t.is(first.status, 200);
    t.is(first.body.status, 'scanned');
    const number = (first.body as { number?: string }).number!;
    t.regex(number, /^\d\d$/);
    t.is((await browser.get('/api/me')).status, 401, 'nothing is logged in before the confirmation');

    const confirm = await openInWechat(server, openid, path);
    t.is(confirm.status, 200);
    t.regex(confirm.html, /id="confirm-browser">Chrome 120</);
    t.regex(confirm.html, /id="confirm-os">Windows 10</);
    t.regex(confirm.html, /id="confirm-ip">127\.0\.0\.1</);
    const choices = numbersOf(confirm.html);
    t.is(choices.length, 3);
    t.is(new Set(choices).size, 3);
    t.true(choices.includes(number));
    // Reloaded, the page offers the very same three, in the same order: reloads cannot single out the right one.
    for (let reload = 0; reload < 3; reload += 1) t.deepEqual(numbersOf((await follow(confirm.phone, path)).html), choices);

    const held = pollAfterScanned(browser, scene);
    const decided = await answer(confirm.phone, confirm.html, { number });
    t.is(decided.status, 200);
    t.regex(await decided.text(), /data-outcome="approved"/);
    t.deepEqual(await held, { status: 'bind', redirect: '/bind' });
    t.is((await bindPhone(server, browser, '13800138001')).status, 303);
    const me = await (await browser.get('/api/me')).json();
    t.like(me, { openid, phone: '13800138001' });

    // The same link again: used up.
    t.is((await follow(confirm.phone, path)).status, 410);
  });

  declare(`${kind}: a known device logs in at once with new-device; a wrong number kills the code`, async (t) => {
    const server = await setup(t, kind);
    const openid = await createPersona(server, 'Bob');
    const browser = await firstLoginWithConfirmation(server, openid, '13800138002');

    // Same browser (its device cookie), a new login: no confirmation.
    await logOut(browser);
    const again = await openLoginAs(server, desktopChrome, browser);
    const reply = await phoneFor(server).scan(openid, again.scene, 'ticket', true);
    t.is(reply.replyText, wechatTexts.zh.loggedIn);
    t.deepEqual((await poll(browser, again.scene)).body, { status: 'success', redirect: '/profile' });

    // Another browser (no device cookie for this user): a wrong number answers denied and kills the code.
    const other = await openLoginAs(server, desktopFirefoxLinux);
    const otherReply = await phoneFor(server).scan(openid, other.scene, 'ticket', true);
    const number = ((await poll(other.browser, other.scene)).body as unknown as { number: string }).number;
    const confirm = await openInWechat(server, openid, confirmPathOf(server, otherReply.replyText));
    const wrong = numbersOf(confirm.html).find((choice) => choice !== number)!;
    const decided = await answer(confirm.phone, confirm.html, { number: wrong });
    t.regex(await decided.text(), /data-outcome="wrong_number"/);
    t.is((await pollAfterScanned(other.browser, other.scene)).status, 'denied');
    t.is((await poll(other.browser, other.scene)).body.status, 'denied', 'the code stays dead');
    t.is((await other.browser.get('/api/me')).status, 401);
    // The right number afterwards changes nothing: the token was burnt.
    t.is((await answer(confirm.phone, confirm.html, { number })).status, 410);
    // The no-JavaScript status page says so too, with a way to a new code.
    const status = await (await other.browser.get(`/login/status?scene=${encodeURIComponent(other.scene)}`)).text();
    t.regex(status, /登录已被拒绝/);
    t.regex(status, /id="new-code" href="\/login"/);
    const fresh = await openLoginAs(server, desktopFirefoxLinux, other.browser);
    t.not(fresh.scene, other.scene);
    // Operators see the confirmations: one approved (the first login), one wrong number, one burnt link.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    t.is(sampleValue(metrics, 'wechat_login_confirmations_total', { outcome: 'approved' }), 1);
    t.is(sampleValue(metrics, 'wechat_login_confirmations_total', { outcome: 'wrong_number' }), 1);
    t.is(sampleValue(metrics, 'wechat_login_confirmations_total', { outcome: 'expired' }), 1);
  });
}

test('QRLJacking: the victim scanning the attacker\'s code does not log the attacker in; the confirm page names the attacker\'s browser', async (t) => {
  const server = await setup(t);
  const victim = await createPersona(server, 'Victim');
  await firstLoginWithConfirmation(server, victim, '13800138003');

  // The attacker opens /login and relays the live code to the victim, who scans it.
  const attacker = await openLoginAs(server, desktopFirefoxLinux);
  const reply = await phoneFor(server).scan(victim, attacker.scene, 'ticket', true);
  t.notRegex(reply.replyText!, /登录成功/);
  t.regex(reply.replyText!, /Firefox 128 · Linux/);
  const attackerPoll = await poll(attacker.browser, attacker.scene);
  t.is(attackerPoll.body.status, 'scanned');
  t.is((await attacker.browser.get('/api/me')).status, 401);

  // Polling harder changes nothing.
  const polls = await Promise.all([1, 2, 3].map(() => pollAfterScanned(attacker.browser, attacker.scene)));
  t.deepEqual(polls.map((answer) => answer.status), ['scanned', 'scanned', 'scanned'], 'still waiting for the victim');
  t.is((await attacker.browser.get('/api/me')).status, 401);

  const confirm = await openInWechat(server, victim, confirmPathOf(server, reply.replyText));
  t.regex(confirm.html, /id="confirm-browser">Firefox 128</);
  t.regex(confirm.html, /id="confirm-os">Linux</);
  t.regex(confirm.html, /id="confirm-ip">127\.0\.0\.1</);
  t.regex(confirm.html, /不是我，拒绝/);
  const denied = await answer(confirm.phone, confirm.html, 'deny');
  t.regex(await denied.text(), /data-outcome="denied"/);
  t.is((await poll(attacker.browser, attacker.scene)).body.status, 'denied');
  t.is((await attacker.browser.get('/api/me')).status, 401);
});

test('a confirm link opened by another WeChat user is refused, and stays good for the scanner', async (t) => {
  const server = await setup(t);
  const scanner = await createPersona(server, 'Scanner');
  const stranger = await createPersona(server, 'Stranger');
  const { browser, scene } = await openLoginAs(server);
  const reply = await phoneFor(server).scan(scanner, scene, 'ticket', false);
  const path = confirmPathOf(server, reply.replyText);
  const number = ((await poll(browser, scene)).body as unknown as { number: string }).number;

  const foreign = await openInWechat(server, stranger, path);
  t.is(foreign.status, 403);
  t.regex(foreign.html, /属于另一个微信用户/);
  t.notRegex(foreign.html, /confirm-ip/, 'the stranger learns nothing about the browser');
  // The stranger's forged POST with the token and their own session is refused too.
  const forged = await foreign.phone.postForm('/login/confirm', {
    _csrf: foreign.html.match(/name="_csrf" value="([^"]+)"/)?.[1] ?? '',
    t: path.split('t=')[1],
    decision: 'approve',
    number,
  });
  t.is(forged.status, 403);

  const own = await openInWechat(server, scanner, path);
  t.is(own.status, 200);
  t.is((await answer(own.phone, own.html, { number })).status, 200);
  t.is((await pollAfterScanned(browser, scene)).status, 'bind');
});

test('an expired confirm link gets a clear page; a malformed one too; the OAuth state is single-use', async (t) => {
  const clock = createTestClock();
  const server = await startServer(t, { env: { LOGIN_POLL_TIMEOUT_MS: '1500', QR_EXPIRE_SECONDS: '60' }, clock: clock.now });
  const openid = await createPersona(server, 'Late');
  const { browser, scene } = await openLoginAs(server);
  const reply = await phoneFor(server).scan(openid, scene, 'ticket', false);
  const path = confirmPathOf(server, reply.replyText);
  t.is((await poll(browser, scene)).body.status, 'scanned');
  clock.advance(61_000);
  const late = await openInWechat(server, openid, path);
  t.is(late.status, 410);
  t.regex(late.html, /已使用或已过期/);
  t.is((await poll(browser, scene)).body.status, 'expired');

  const { phone } = late;
  for (const bad of ['/login/confirm', '/login/confirm?t=short', `/login/confirm?t=${'A'.repeat(32)}`, '/login/confirm?t[]=x']) {
    t.is((await phone.get(bad)).status, 410, bad);
  }
  t.is((await phone.get('/login/confirm/callback?code=x&state=y')).status, 400);
  t.is((await phone.postForm('/login/confirm', { t: 'x', decision: 'approve', number: '12' })).status, 403, 'no CSRF token');
});

test('LOGIN_CONFIRM=always asks on a known device too', async (t) => {
  const server = await setup(t, 'sqlite', { LOGIN_CONFIRM: 'always' });
  const openid = await createPersona(server, 'Carol');
  const browser = await firstLoginWithConfirmation(server, openid, '13800138004');
  await logOut(browser);
  const again = await openLoginAs(server, desktopChrome, browser);
  const reply = await phoneFor(server).scan(openid, again.scene, 'ticket', true);
  t.regex(reply.replyText!, /login\/confirm\?t=/);
  t.is((await poll(browser, again.scene)).body.status, 'scanned');
});

test('the notice arrives in the simulator chat after a QR login; outside the 48-hour window (45015) the login still completes', async (t) => {
  const server = await setup(t);
  const openid = await createPersona(server, 'Dora');
  const { browser, scene } = await openLoginAs(server);
  const simulator = await scanInSimulator(server, openid, scene);
  const replyBubble = (await chatOf(server, openid)).at(-1)!;
  t.regex(replyBubble, /点此确认登录/);
  const number = ((await poll(browser, scene)).body as unknown as { number: string }).number;
  const link = (await simulator.pageOf(openid)).match(/class="chat-link" href="([^"]+)"/)![1].replaceAll('&amp;', '&');
  t.regex(link, /^\/simulator\/browser\?as=/);
  const target = decodeURIComponent(link.split('url=')[1]).slice(server.url.length);
  const confirm = await openInWechat(server, openid, target);
  await answer(confirm.phone, confirm.html, { number });
  t.is((await pollAfterScanned(browser, scene)).status, 'bind');
  t.is((await bindPhone(server, browser, '13800138005')).status, 303);
  await waitUntil(async () => (await chatOf(server, openid)).some((text) => /通过扫码在这个浏览器上登录/.test(text)));
  const notice = (await chatOf(server, openid)).find((text) => /通过扫码在这个浏览器上登录/.test(text))!;
  t.regex(notice, /Chrome 120 · Windows 10/);
  t.regex(notice, /IP 127\.0\.0\.1/);

  // Two days of silence later, WeChat refuses the notice (45015); the login itself goes through, and the failure is logged.
  await logOut(browser);
  const again = await openLoginAs(server, desktopChrome, browser);
  await scanInSimulator(server, openid, again.scene);
  await simulator.post('/simulator/idle', { openid });
  t.deepEqual((await poll(browser, again.scene)).body, { status: 'success', redirect: '/profile' });
  await waitUntil(() => server.logs.some((line) => line.message === 'login notice not sent' && line.fields?.errcode === 45015));
  t.is((await browser.get('/api/me')).status, 200);
});


test('the notice\'s link ends that very session, for its owner only', async (t) => {
  const server = await setup(t, 'sqlite', { LOGIN_CONFIRM: 'off' });
  const owner = await createPersona(server, 'Erin');
  const stranger = await createPersona(server, 'Mallory');
  const { browser, scene } = await openLoginAs(server);
  await scanInSimulator(server, owner, scene);
  t.is((await poll(browser, scene)).body.status, 'bind');
  t.is((await bindPhone(server, browser, '13800138006')).status, 303);
  await waitUntil(async () => (await chatOf(server, owner)).some((text) => /结束这次登录/.test(text)));
  // The simulator shows the link as WeChat would, opening in its in-app browser.
  const chatLinks = [...(await (await openSimulator(server)).pageOf(owner)).matchAll(/class="chat-link" href="([^"]+)"/g)];
  const target = chatLinks.map((match) => decodeURIComponent(match[1].replaceAll('&amp;', '&').split('url=')[1])).find((url) => url.includes('/sessions/end'))!;
  t.true(target.startsWith(`${server.url}/sessions/end?t=`));
  const path = target.slice(server.url.length);

  const foreign = await openInWechat(server, stranger, path);
  t.is(foreign.status, 403);
  t.regex(foreign.html, /另一个微信用户/);
  const unproven = await browser.get(path);
  t.is(unproven.status, 302, 'a browser that has not proved who it is goes through WeChat first');
  t.regex(unproven.headers.get('location')!, /\/connect\/oauth2\/authorize\?.*scope=snsapi_base/);

  const page = await openInWechat(server, owner, path);
  t.is(page.status, 200);
  t.regex(page.html, /Chrome 120/);
  const token = page.html.match(/name="t" value="([^"]+)"/)![1];
  const forgedToken = await page.phone.postForm('/sessions/end', { _csrf: page.html.match(/name="_csrf" value="([^"]+)"/)![1], t: token.slice(0, -2) + 'AA' });
  t.is(forgedToken.status, 410);
  t.is((await browser.get('/api/me')).status, 200);
  const ended = await page.phone.postForm('/sessions/end', { _csrf: page.html.match(/name="_csrf" value="([^"]+)"/)![1], t: token });
  t.is(ended.status, 200);
  t.regex(await ended.text(), /已结束/);
  t.is((await browser.get('/api/me')).status, 401, 'that browser is signed out');
  t.regex((await openInWechat(server, owner, path)).html, /已经结束/);
});

test('a browser whose session the user ends as "not mine" is forgotten: its next login asks the phone again; a plain logout keeps it known', async (t) => {
  const server = await setup(t);
  const openid = await createPersona(server, 'Owner');
  const stranger = await firstLoginWithConfirmation(server, openid, '13800138077');
  const own = await openLoginAs(server, desktopFirefoxLinux);
  const ownReply = await phoneFor(server).scan(openid, own.scene, 'ticket', true);
  const ownNumber = ((await poll(own.browser, own.scene)).body as { number?: string }).number!;
  const ownConfirm = await openInWechat(server, openid, confirmPathOf(server, ownReply.replyText));
  await answer(ownConfirm.phone, ownConfirm.html, { number: ownNumber });
  t.is((await pollAfterScanned(own.browser, own.scene)).status, 'success');

  // A plain logout keeps the device known (CONTRACT.md): the next login from it needs no confirmation.
  await logOut(own.browser);
  const back = await openLoginAs(server, desktopFirefoxLinux, own.browser);
  await phoneFor(server).scan(openid, back.scene, 'ticket', true);
  t.is((await poll(own.browser, back.scene)).body.status, 'success');

  // From their own browser, the user ends the stranger's session ("log out this device").
  const profile = await (await own.browser.get('/profile')).text();
  const strangerSession = [...profile.matchAll(/class="session" data-session-id="(\d+)"/g)].map((match) => match[1]);
  t.is(strangerSession.length, 1);
  const csrf = profile.match(/name="_csrf" value="([^"]+)"/)![1];
  t.is((await own.browser.postForm('/sessions/revoke', { session: strangerSession[0], _csrf: csrf })).status, 303);
  t.is((await stranger.get('/api/me')).status, 401);

  // The stranger's browser shows a new code and the user is tricked into scanning it: the phone is asked again.
  const again = await openLoginAs(server, desktopChrome, stranger);
  const reply = await phoneFor(server).scan(openid, again.scene, 'ticket', true);
  t.not(reply.replyText, wechatTexts.zh.loggedIn);
  t.is((await poll(stranger, again.scene)).body.status, 'scanned');
  t.is((await stranger.get('/api/me')).status, 401);
});
