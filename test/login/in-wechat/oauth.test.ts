import test from 'ava';
import { BrowserClient } from '../../helpers/browser-client.js';
import { authorize, logInInWechat } from '../../helpers/oauth-flow.js';
import { bindPhone, openLoginPage, phoneFor, poll } from '../../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../../helpers/server.js';
import { openSimulator } from '../../helpers/simulator-phone.js';

test('/auth/wechat redirects to the authorize page with snsapi_base, the callback address and a state', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const browser = new BrowserClient(server.url);
  const response = await browser.get('/auth/wechat');
  t.is(response.status, 302);
  const [address, fragment] = response.headers.get('location')!.split('#');
  t.is(fragment, 'wechat_redirect');
  const url = new URL(address);
  t.is(url.origin + url.pathname, `${server.url}/simulator/api/connect/oauth2/authorize`);
  t.is(url.searchParams.get('appid'), server.config.wechat.appId);
  t.is(url.searchParams.get('redirect_uri'), `${server.url}/auth/wechat/callback`);
  t.is(url.searchParams.get('response_type'), 'code');
  t.is(url.searchParams.get('scope'), 'snsapi_base');
  t.regex(url.searchParams.get('state')!, /^[A-Za-z0-9_-]{16,}$/);
  t.true(address.includes(`redirect_uri=${encodeURIComponent(`${server.url}/auth/wechat/callback`)}`), 'redirect_uri is encoded');
  const userinfo = await browser.get('/auth/wechat?scope=userinfo');
  t.is(new URL(userinfo.headers.get('location')!.split('#')[0]).searchParams.get('scope'), 'snsapi_userinfo');
});

test('snsapi_base: a new user goes to /bind, binds, and logs in with method oauth', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const openid = await sim.createPersona('微信内');
  const browser = new BrowserClient(server.url, { 'user-agent': 'Mozilla/5.0 MicroMessenger/8.0' });
  // A newcomer who does not follow: with the mini-program configured, their unionid is asked for once (snsapi_userinfo).
  const { answer: finished, scopes } = await logInInWechat(browser, sim.phone, openid);
  t.deepEqual(scopes, ['snsapi_base', 'snsapi_userinfo']);
  t.is(finished.status, 302);
  t.is(finished.headers.get('location'), '/bind');
  t.is((await bindPhone(server, browser, '13811112222')).status, 303);
  const me = await (await browser.get('/api/me')).json();
  t.like(me, { openid, phone: '13811112222' });
  t.is(me.logins[0].method, 'oauth');
  t.truthy(me.unionid, 'the unionid of the second round trip is kept');
});

test('snsapi_userinfo stores the nickname and avatar; a returning user lands on the profile or next', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const openid = await sim.createPersona('昵称用户');
  const first = new BrowserClient(server.url);
  await (await authorize(first, sim.phone, openid, '/auth/wechat?scope=userinfo')).finish();
  await bindPhone(server, first, '13822223333');
  const row = await server.knex('users').where({ openid }).first();
  t.is(row.nickname, '昵称用户');
  t.regex(row.avatar_url, /^https:\/\/thirdwx\.qlogo\.cn\//);
  t.regex(await (await first.get('/profile')).text(), /昵称用户/);

  const again = new BrowserClient(server.url);
  const finished = await (await authorize(again, sim.phone, openid, '/auth/wechat?next=%2Fapi%2Fme')).finish();
  t.is(finished.headers.get('location'), '/api/me');
  t.is((await again.get('/api/me')).status, 200);
});

test('a state mismatch, a missing state and a replayed state get a 400 page', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const openid = await sim.createPersona('攻击');
  const browser = new BrowserClient(server.url);
  const flow = await authorize(browser, sim.phone, openid);
  const code = flow.callback.searchParams.get('code')!;
  const forged = await browser.get(`/auth/wechat/callback?code=${code}&state=forged`);
  t.is(forged.status, 400);
  t.regex(await forged.text(), /登录请求已过期或无效/);
  // The failed try used the state up: even the right one is refused now.
  t.is((await flow.finish()).status, 400);
  const stranger = new BrowserClient(server.url);
  t.is((await stranger.get(`/auth/wechat/callback?code=${code}`)).status, 400);
  t.is(await server.knex('users').where({ openid }).first(), undefined);
});

test('a state is single-use on the server: a copy of the cookie cannot use it again', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const openid = await sim.createPersona('复制');
  const browser = new BrowserClient(server.url);
  const flow = await authorize(browser, sim.phone, openid);
  const copy = new BrowserClient(server.url);
  copy.setCookies(browser.cookieHeader());
  t.is((await flow.finish()).status, 302);
  const state = flow.callback.searchParams.get('state')!;
  // A fresh code from WeChat, so that only the state can refuse it.
  const again = await authorize(new BrowserClient(server.url), sim.phone, openid);
  const replayed = await copy.get(`/auth/wechat/callback?code=${again.callback.searchParams.get('code')}&state=${state}`);
  t.is(replayed.status, 400);
  t.regex(await replayed.text(), /登录请求已过期或无效/);
});

test('a reused code gets a clear page with a retry link, never a 500', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const openid = await sim.createPersona('重放');
  const browser = new BrowserClient(server.url);
  const flow = await authorize(browser, sim.phone, openid);
  t.is((await flow.finish()).status, 302);
  // The same code again, under a fresh state of this session.
  const restart = await browser.get('/auth/wechat');
  const state = new URL(restart.headers.get('location')!.split('#')[0]).searchParams.get('state')!;
  const reused = await browser.get(`/auth/wechat/callback?code=${flow.callback.searchParams.get('code')}&state=${state}`);
  t.is(reused.status, 400);
  const html = await reused.text();
  t.regex(html, /微信授权已失效，请重试/);
  t.regex(html, /href="\/auth\/wechat"/);
});

test('the login page inside WeChat offers one-tap login above the QR code', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const inside = await (await fetch(`${server.url}/login`, { headers: { 'user-agent': 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.49' } })).text();
  t.regex(inside, /id="oauth-login" href="\/auth\/wechat"/);
  t.true(inside.indexOf('oauth-login') < inside.indexOf('id="qr"'));
  const outside = await (await fetch(`${server.url}/login`)).text();
  t.notRegex(outside, /oauth-login/);
});

test('the QR user and the OAuth user are one user (same Official Account openid)', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const openid = await sim.createPersona('同一人');
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan(openid, scene, 'ticket', false);
  await poll(browser, scene);
  await bindPhone(server, browser, '13833334444');
  const viaOauth = new BrowserClient(server.url);
  const finished = await (await authorize(viaOauth, sim.phone, openid)).finish();
  t.is(finished.headers.get('location'), '/profile');
  t.is(Number((await server.knex('users').count({ n: '*' }).first())!.n), 1);
});

test('MP_verify: the configured file answers its code; any other gets 404', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, WECHAT_MP_VERIFY: 'AbC123xyz' } });
  const good = await fetch(`${server.url}/MP_verify_AbC123xyz.txt`);
  t.is(good.status, 200);
  t.regex(good.headers.get('content-type')!, /^text\/plain/);
  t.is(await good.text(), 'AbC123xyz');
  t.is((await fetch(`${server.url}/MP_verify_other.txt`)).status, 404);
  const unset = await startServer(t, { env: plainScanLogin });
  t.is((await fetch(`${unset.url}/MP_verify_AbC123xyz.txt`)).status, 404);
});
