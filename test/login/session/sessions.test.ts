import test from 'ava';
import Keygrip from 'keygrip';
import { runAdmin } from '../../../src/admin/cli.js';
import { createAdminQueries } from '../../../src/db/admin-queries.js';
import { createEndSessionLinks } from '../../../src/login/session/end-session-links.js';
import { createPersona, openInWechat } from '../../helpers/confirm-flow.js';
import { developmentSessionKey, loadConfig } from '../../../src/config.js';
import { clientIpOf } from '../../../src/http/client-ip.js';
import { describeUserAgent } from '../../../src/http/user-agent.js';
import { describeDevice } from '../../../src/login/session/device-description.js';
import { createSceneIssuer } from '../../../src/login/scan/scene-issuer.js';
import { deriveKeys } from '../../../src/security/keys.js';
import { BrowserClient, csrfOf } from '../../helpers/browser-client.js';
import { databaseKinds } from '../../helpers/databases.js';
import { logInNewUser, openLoginPage, phoneFor, poll } from '../../helpers/login-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../../helpers/server.js';
import { createTestClock } from '../../helpers/test-clock.js';

/** A second browser holding a copy of `browser`'s cookies, as a thief with a copied cookie would. */
function copyOf(server: TestServer, browser: BrowserClient): BrowserClient {
  const copy = new BrowserClient(server.url);
  copy.setCookies(browser.cookieHeader());
  return copy;
}

/** A koa-session cookie for `data`, signed with `key` the way koa signs it. */
function forgedCookie(data: object, key: string): string {
  const value = Buffer.from(JSON.stringify(data)).toString('base64');
  const signature = new Keygrip([key]).sign(`wl.sid=${value}`);
  return `wl.sid=${value}; wl.sid.sig=${signature}`;
}

async function logInReturning(server: TestServer, openid: string, userAgent = 'ava-test-browser') {
  const { browser, scene } = await openLoginPage(server);
  const browserWithAgent = new BrowserClient(server.url, { 'user-agent': userAgent });
  browserWithAgent.setCookies(browser.cookieHeader());
  const pending = poll(browserWithAgent, scene);
  await phoneFor(server).scan(openid, scene, 'ticket', true);
  const answer = await pending;
  if (answer.body.status !== 'success') throw new Error(`expected success, got ${answer.body.status}`);
  return browserWithAgent;
}

test('a session cookie signed with the public development key is nobody', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, SESSION_KEYS: '' } });
  t.true(server.config.usingDevelopmentSessionKey);
  await logInNewUser(server, 'o_victim', '13800138000');
  const victimId = (await server.knex('users').where({ openid: 'o_victim' }).first()).id;
  for (const key of [developmentSessionKey, server.config.keys.cookie[0]]) {
    const forger = new BrowserClient(server.url);
    forger.setCookies(forgedCookie({ userId: victimId, sessionVersion: 0, auth: 'guessed-token', _expire: Date.now() + 3_600_000, _maxAge: 3_600_000 }, key));
    t.is((await forger.get('/api/me')).status, 401);
  }
});

test('the start refuses a missing SESSION_KEYS or WECHAT_TOKEN whenever the simulator is off, and NODE_ENV in any case', (t) => {
  const real = { WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's' };
  t.throws(() => loadConfig({ ...real, WECHAT_TOKEN: 't' }), { message: /SESSION_KEYS is required when the simulator is off/ });
  t.throws(() => loadConfig({ ...real, SESSION_KEYS: 'a-long-enough-production-key' }), { message: /WECHAT_TOKEN is required/ });
  for (const nodeEnv of ['Production', 'PRODUCTION', ' production ']) {
    t.throws(() => loadConfig({ NODE_ENV: nodeEnv }), { message: /SESSION_KEYS is required when NODE_ENV=production/ }, nodeEnv);
  }
});

test('each purpose has its own key, and rotating the cookie keys keeps live QR codes', (t) => {
  const old = deriveKeys(['an-old-session-key-0001']);
  const rotated = deriveKeys(['a-new-session-key-00002', 'an-old-session-key-0001']);
  const all = [old.cookie[0], old.scene[0].toString('base64url'), old.smsCode[0].toString('base64url')];
  t.is(new Set(all).size, 3, 'cookies, scenes and SMS codes never share a key');
  t.false(all.includes('an-old-session-key-0001'), 'the configured secret itself signs nothing');
  const scene = createSceneIssuer(old.scene).issueScene(Date.now() + 60_000);
  t.truthy(createSceneIssuer(rotated.scene).readSceneExpiry(scene), 'a code shown before the rotation still scans');
  t.is(createSceneIssuer(deriveKeys(['a-new-session-key-00002']).scene).readSceneExpiry(scene), undefined, 'a retired key verifies nothing');
});

test('TRUST_PROXY: the client IP is the Nth address from the right, and never text', (t) => {
  t.is(clientIpOf('6.6.6.6', '10.0.0.5', 0), '10.0.0.5', 'unset: X-Forwarded-For is the client\'s word');
  t.is(clientIpOf('6.6.6.6, 203.0.113.9', '10.0.0.5', 1), '203.0.113.9');
  t.is(clientIpOf('6.6.6.6, 203.0.113.9, 10.0.0.4', '10.0.0.5', 2), '203.0.113.9');
  t.is(clientIpOf('203.0.113.9', '10.0.0.5', 2), '10.0.0.5', 'fewer entries than proxies: not through our proxies');
  t.is(clientIpOf('<script>, not-an-ip', '::ffff:10.0.0.5', 1), '10.0.0.5', 'not an address: the socket, IPv4-mapped made plain');
  t.is(clientIpOf('2001:DB8::1', '10.0.0.5', 1), '2001:db8::1');
  t.throws(() => loadConfig({ TRUST_PROXY: 'true' }), { message: /TRUST_PROXY must be the number of reverse proxies/ });
  t.is(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  t.is(loadConfig({}).trustProxy, 0);
});

test('a made-up X-Forwarded-For neither dodges the per-IP SMS cap nor lands in the login history', async (t) => {
  const server = await startServer(t, {
    env: { ...plainScanLogin, SMS_MAX_PER_IP_PER_HOUR: '3', SMS_MAX_PER_USER_PER_HOUR: '100', SMS_RESEND_INTERVAL_SECONDS: '0' },
  });
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan('o_spoof', scene, 'ticket', false);
  await poll(browser, scene);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  const statuses = [];
  for (let index = 0; index < 6; index += 1) {
    const response = await browser.request('/bind/code', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `198.51.100.${index}` },
      body: new URLSearchParams({ phone: `1380000000${index}`, _csrf: csrf }).toString(),
    });
    statuses.push(response.status);
  }
  t.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  const code = server.handle.smsInbox.list().find((sms) => sms.phone === '13800000000')!.code;
  await browser.request('/bind', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '<b>anything</b>' },
    body: new URLSearchParams({ phone: '13800000000', code, _csrf: csrf }).toString(),
  });
  const history = await server.knex('user_sessions').first('ip');
  t.is(history.ip, '127.0.0.1');
});

test('behind one trusted proxy the proxy\'s entry is the IP, and a bad entry falls back to the socket', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, TRUST_PROXY: '1' } });
  const browser = await logInNewUser(server, 'o_proxied', '13900000001');
  const { browser: next, scene } = await openLoginPage(server);
  const pending = next.request(`/login/poll?scene=${scene}`, { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' } });
  await phoneFor(server).scan('o_proxied', scene, 'ticket', true);
  t.is((await pending).status, 200);
  const me = await (await browser.get('/api/me')).json();
  t.is(me.logins[0].ip, '203.0.113.7');
});

test('https: HSTS is sent; plain http sends none', async (t) => {
  const https = await startServer(t, { env: { ...plainScanLogin, PUBLIC_URL: 'https://login.example' } });
  const plain = await startServer(t, { env: plainScanLogin });
  t.is((await fetch(`${https.url}/healthz`)).headers.get('strict-transport-security'), 'max-age=31536000');
  t.is((await fetch(`${plain.url}/healthz`)).headers.get('strict-transport-security'), null);
});

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: a copied cookie is dead after logout, even after the user logs in elsewhere`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const browser = await logInNewUser(server, 'o_logout', '13700000001');
    const stolen = copyOf(server, browser);
    t.is((await stolen.get('/api/me')).status, 200);
    const csrf = csrfOf(await (await browser.get('/profile')).text());
    t.is((await browser.postForm('/logout', { _csrf: csrf })).status, 303);
    t.is((await stolen.get('/api/me')).status, 401);
    await logInReturning(server, 'o_logout');
    t.is((await stolen.get('/api/me')).status, 401, 'a new login elsewhere does not revive it');
    t.is((await stolen.get('/profile')).headers.get('location'), '/login');
  });

  declare(`${kind}: the profile lists the sessions; one can be ended, then all the others`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const desktop = await logInNewUser(server, 'o_devices', '13700000002');
    const phone = await logInReturning(server, 'o_devices', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148');
    const tablet = await logInReturning(server, 'o_devices', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36');
    const stranger = await logInNewUser(server, 'o_stranger', '13700000003');
    const page = await (await desktop.get('/profile')).text();
    const ids = [...page.matchAll(/data-session-id="(\d+)"/g)].map((match) => match[1]);
    t.is(ids.length, 3);
    t.regex(page, /Safari[^<]*<\/strong> · iOS 17\.1/);
    t.regex(page, /Chrome 140<\/strong> · Linux/);
    t.is((page.match(/当前设备/g) ?? []).length, 1);
    const phoneSession = (await (await phone.get('/profile')).text()).match(/class="session current" data-session-id="(\d+)"/)![1];
    const csrf = csrfOf(page);
    const strangerSession = (await (await stranger.get('/profile')).text()).match(/class="session current" data-session-id="(\d+)"/)![1];
    t.is((await desktop.postForm('/sessions/revoke', { session: strangerSession, _csrf: csrf })).status, 303);
    t.is((await stranger.get('/api/me')).status, 200, "another user's session id ends nothing");
    const ended = await desktop.postForm('/sessions/revoke', { session: phoneSession, _csrf: csrf });
    t.is(ended.status, 303);
    t.is(ended.headers.get('location'), '/profile');
    t.is((await phone.get('/api/me')).status, 401);
    t.is((await tablet.get('/api/me')).status, 200);
    t.is((await desktop.postForm('/sessions/revoke', { all: 'others', _csrf: csrf })).status, 303);
    t.is((await tablet.get('/api/me')).status, 401);
    t.is((await desktop.get('/api/me')).status, 200, 'this session stays');
    t.is((await desktop.postForm('/sessions/revoke', { session: 'x', _csrf: csrf })).status, 400);
    t.is((await desktop.postForm('/sessions/revoke', { all: 'others' })).status, 403, 'the CSRF token is required');
  });

  declare(`${kind}: unfollowing ends every session and mini-program token of the user`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const browser = await logInNewUser(server, 'o_unfollow', '13700000004');
    const copy = copyOf(server, browser);
    await phoneFor(server).unfollow('o_unfollow');
    t.is((await browser.get('/api/me')).status, 401);
    t.is((await copy.get('/api/me')).status, 401);
    const live = await server.knex('user_sessions').whereNull('revoked_at').count({ n: '*' }).first();
    t.is(Number(live!.n), 0);
  });
}

/** The session id the profile marks as this browser's. */
async function ownSessionId(browser: BrowserClient): Promise<number> {
  return Number((await (await browser.get('/profile')).text()).match(/class="session current" data-session-id="(\d+)"/)![1]);
}

/** What /login says about how this browser's last session ended (empty: nothing). */
async function endNoticeOn(browser: BrowserClient, headers?: Record<string, string>): Promise<string> {
  const html = await (await browser.get('/login', headers)).text();
  return html.match(/id="session-ended"[^>]*>([^<]*)</)?.[1] ?? '';
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: a browser signed out from elsewhere is told why, once, on the login page; its own logout says nothing`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    // A simulator persona: the end link is opened in its WeChat, which proves the openid through OAuth.
    const openid = await createPersona(server, 'why');
    const first = await logInNewUser(server, openid, '13700000011');
    const userId = (await server.knex('users').where({ openid }).first()).id as number;
    const reasonOf = async (browser: BrowserClient) =>
      (await server.knex('user_sessions').where({ id: await ownSessionId(browser) }).first()).end_reason as string | null;

    // "Log out this device" on another device's profile: the next page it loads (here /profile) leads to the words.
    const ended = await logInReturning(server, openid);
    const endedId = await ownSessionId(ended);
    const csrf = csrfOf(await (await first.get('/profile')).text());
    t.is((await first.postForm('/sessions/revoke', { session: String(endedId), _csrf: csrf })).status, 303);
    t.is((await server.knex('user_sessions').where({ id: endedId }).first()).end_reason, 'revoked');
    t.is((await ended.get('/profile')).headers.get('location'), '/login');
    t.is(await endNoticeOn(ended), '这次登录已在另一台设备上被退出。如需继续使用，请重新扫码登录。');
    t.is(await endNoticeOn(ended), '', 'said once');

    // "Log out all other devices", in English.
    const other = await logInReturning(server, openid);
    t.is((await first.postForm('/sessions/revoke', { all: 'others', _csrf: csrf })).status, 303);
    t.is(await endNoticeOn(other, { 'accept-language': 'en' }), 'This session was ended from another device. Scan the code to log in again.');

    // The "end this login" link of the WeChat notice, opened on the phone by the user.
    const linked = await logInReturning(server, openid);
    const links = createEndSessionLinks({ keys: server.config.keys.link, publicUrl: server.url, lifetimeSeconds: 3600 });
    const endPath = links.linkFor({ id: await ownSessionId(linked), userId }).slice(server.url.length);
    const opened = await openInWechat(server, openid, endPath);
    const token = opened.html.match(/name="t" value="([^"]+)"/)![1];
    t.is((await opened.phone.postForm('/sessions/end', { _csrf: csrfOf(opened.html), t: token })).status, 200);
    t.is(await endNoticeOn(linked), '这次登录已在你的手机上结束（微信通知里的“结束这次登录”）。如需继续使用，请重新扫码登录。');

    // The operator's tool.
    const byAdmin = await logInReturning(server, openid);
    const out: string[] = [];
    t.is(await runAdmin(['end-sessions', '--openid', openid], createAdminQueries(server.knex), { out: (text) => out.push(text), err: (text) => out.push(text) }), 0);
    t.is(await endNoticeOn(byAdmin), '这次登录已被管理员结束。');
    t.is(await endNoticeOn(first), '这次登录已被管理员结束。');

    // Past its absolute lifetime (idle is the same words).
    const expired = await logInReturning(server, openid);
    await server.knex('user_sessions').where({ id: await ownSessionId(expired) }).update({ expires_at: new Date(Date.now() - 1000) });
    t.is(await endNoticeOn(expired), '登录已过期，请重新扫码登录。');

    // Its own logout: nothing to explain.
    const leaving = await logInReturning(server, openid);
    const leavingId = await ownSessionId(leaving);
    t.is((await leaving.postForm('/logout', { _csrf: csrfOf(await (await leaving.get('/profile')).text()) })).status, 303);
    t.is((await server.knex('user_sessions').where({ id: leavingId }).first()).end_reason, 'logout');
    t.is(await endNoticeOn(leaving), '');

    // Unfollowing ends every session, each told why.
    const unfollowed = await logInReturning(server, openid);
    t.is(await reasonOf(unfollowed), null, 'a live session has no reason');
    await phoneFor(server).unfollow(openid);
    t.is(await endNoticeOn(unfollowed), '你已取消关注公众号，因此已退出登录。重新关注并扫码即可再次登录。');
    const reasons = await server.knex('user_sessions').where({ user_id: userId }).orderBy('id').pluck('end_reason');
    // The expired session's row was still unrevoked, so the unfollow ended it too.
    t.deepEqual(reasons, ['admin', 'revoked', 'revoked', 'end-link', 'admin', 'unfollow', 'logout', 'unfollow']);
    t.is(Number((await server.knex('user_sessions').whereNull('revoked_at').count({ n: '*' }).first())!.n), 0);
  });
}

test('an idle session ends after SESSION_IDLE_TIMEOUT_SECONDS; use keeps it alive; the absolute lifetime ends it anyway', async (t) => {
  // An hour's idle timeout, with a request every 20 minutes; the clock moves, nobody waits.
  const clock = createTestClock();
  const server = await startServer(t, { env: { ...plainScanLogin, SESSION_IDLE_TIMEOUT_SECONDS: '3600' }, clock: clock.now });
  const browser = await logInNewUser(server, 'o_idle', '13700000005');
  for (let minute = 20; minute <= 80; minute += 20) {
    clock.advance(20 * 60_000);
    t.is((await browser.get('/api/me')).status, 200, `in use at ${minute} minutes`);
  }
  // By now the session has lived longer than the idle timeout, kept alive by use.
  clock.advance(60 * 60_000 + 1000);
  t.is((await browser.get('/api/me')).status, 401, 'idle for longer than the timeout');
  const again = await logInReturning(server, 'o_idle');
  t.is((await again.get('/api/me')).status, 200);
  await server.knex('user_sessions').update({ expires_at: new Date(Date.now() - 1) });
  t.is((await again.get('/api/me')).status, 401, 'past the absolute lifetime, however busy');
});

test('a user agent is shown only as a short, plain browser and OS name, never as the asker\'s own text', (t) => {
  t.deepEqual(describeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'), {
    browser: 'Chrome 120',
    os: 'Windows 10',
  });
  t.deepEqual(describeUserAgent('<a href="https://ev.il/">点此确认登录</a>'), { browser: undefined, os: undefined });
  t.is(describeUserAgent('x]]></Content><MsgType>y/1 (z').browser, undefined);
  t.is(describeDevice('<a href="https://ev.il/">确认</a>/1 (x', '203.0.113.9').browser, '', 'the confirm message never quotes the raw user agent');
});
