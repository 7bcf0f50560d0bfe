import test from 'ava';
import { wechatTexts } from '../../src/messages/wechat-texts.js';
import { csrfOf } from '../helpers/browser-client.js';
import { openLoginPage, poll } from '../helpers/login-flow.js';
import { startServer, type TestServer, plainScanLogin } from '../helpers/server.js';
import { openSimulator } from '../helpers/simulator-phone.js';
import { createTestClock } from '../helpers/test-clock.js';

async function setup(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const clock = createTestClock();
  const server = await startServer(t, { env: { ...plainScanLogin, ...env }, clock: clock.now });
  const api = (path: string, init?: RequestInit) => fetch(`${server.url}/simulator/api${path}`, init).then((response) => response.json());
  const postJson = (path: string, body: unknown) =>
    api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { server, clock, api, postJson, appid: server.config.wechat.appId, secret: server.config.wechat.appSecret };
}

/** The simulator's phone page (test/helpers/simulator-phone.ts), with `chat` for the page of a persona. */
async function simulatorPhone(server: TestServer) {
  const sim = await openSimulator(server);
  return { ...sim, chat: sim.pageOf };
}

test('cgi-bin/token: wrong appid 40013, wrong secret 40125, else a token', async (t) => {
  const { api, appid, secret } = await setup(t);
  t.like(await api(`/cgi-bin/token?grant_type=client_credential&appid=wxnobody&secret=${secret}`), { errcode: 40013 });
  t.like(await api(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=wrong`), { errcode: 40125 });
  const answer = await api(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`);
  t.is(typeof answer.access_token, 'string');
  t.is(answer.expires_in, 7200);
});

test('stable_token returns the same token while valid; force_refresh replaces it', async (t) => {
  const { postJson, api, appid, secret } = await setup(t);
  const first = await postJson('/cgi-bin/stable_token', { grant_type: 'client_credential', appid, secret });
  const again = await postJson('/cgi-bin/stable_token', { grant_type: 'client_credential', appid, secret, force_refresh: false });
  t.is(again.access_token, first.access_token);
  const forced = await postJson('/cgi-bin/stable_token', { grant_type: 'client_credential', appid, secret, force_refresh: true });
  t.not(forced.access_token, first.access_token);
  t.like(await api(`/cgi-bin/user/info?access_token=${first.access_token}&openid=x`), { errcode: 40001 });
  t.like(await postJson('/cgi-bin/stable_token', { grant_type: 'client_credential', appid, secret: 'nope' }), { errcode: 40125 });
});

test('tokens expire after expires_in with 42001', async (t) => {
  const { api, clock, appid, secret } = await setup(t, { SIMULATOR_TOKEN_EXPIRES_SECONDS: '1' });
  const { access_token: token, expires_in: expiresIn } = await api(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`);
  t.is(expiresIn, 1);
  clock.advance(1100);
  t.like(await api(`/cgi-bin/user/info?access_token=${token}&openid=x`), { errcode: 42001 });
});

test('qrcode/create records a ticket whose url points at /simulator/scan; showqrcode draws it as PNG', async (t) => {
  const { server, api, postJson, appid, secret } = await setup(t);
  const { access_token: token } = await api(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`);
  t.like(await postJson(`/cgi-bin/qrcode/create?access_token=bogus`, {}), { errcode: 40001 });
  const created = await postJson(`/cgi-bin/qrcode/create?access_token=${token}`, {
    expire_seconds: 300,
    action_name: 'QR_STR_SCENE',
    action_info: { scene: { scene_str: 'my-scene' } },
  });
  t.is(created.expire_seconds, 300);
  t.is(created.url, `${server.url}/simulator/scan?ticket=${encodeURIComponent(created.ticket)}`);
  const image = await fetch(`${server.url}/simulator/api/cgi-bin/showqrcode?ticket=${encodeURIComponent(created.ticket)}`);
  t.is(image.status, 200);
  t.is(image.headers.get('content-type'), 'image/png');
  t.deepEqual([...new Uint8Array(await image.arrayBuffer()).slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  t.is((await fetch(`${server.url}/simulator/api/cgi-bin/showqrcode?ticket=nope`)).status, 404);
});

test('user/info: 40003 for an unknown openid, the persona otherwise', async (t) => {
  const { server, api, appid, secret } = await setup(t);
  const { access_token: token } = await api(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`);
  t.like(await api(`/cgi-bin/user/info?access_token=${token}&openid=o_nobody`), { errcode: 40003 });
  const sim = await simulatorPhone(server);
  const openid = await sim.createPersona('阿花');
  t.like(await api(`/cgi-bin/user/info?access_token=${token}&openid=${openid}`), { subscribe: 0, openid });
});

test('a scan on the phone page reaches the login only through the signed callback', async (t) => {
  const { server } = await setup(t);
  const { browser, scene } = await openLoginPage(server);
  const sim = await simulatorPhone(server);
  const openid = await sim.createPersona('小红');
  const pending = poll(browser, scene);
  const scanned = await sim.scan(openid, scene);
  t.is(scanned.status, 303);
  t.deepEqual((await pending).body, { status: 'bind', redirect: '/bind' });
  const chat = await sim.chat(openid);
  t.true(chat.includes(wechatTexts.zh.bindPhone), 'the reply appears as a chat bubble');
  t.regex(chat, /已关注/);
  // The scanned code is no longer waiting.
  t.false(chat.includes(`data-scene="${scene}"`));
});

test('an encrypted scan from the phone page reaches the callback and the reply is decrypted', async (t) => {
  const { server } = await setup(t, { WECHAT_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' });
  const { browser, scene } = await openLoginPage(server);
  const sim = await simulatorPhone(server);
  const openid = await sim.createPersona('加密');
  await sim.scan(openid, scene);
  t.is((await poll(browser, scene)).body.status, 'bind');
  t.true((await sim.chat(openid)).includes(wechatTexts.zh.bindPhone));
});

test('follow and unfollow send subscribe and unsubscribe', async (t) => {
  const { server } = await setup(t);
  const sim = await simulatorPhone(server);
  const openid = await sim.createPersona('关注者');
  t.is((await sim.post('/simulator/follow', { openid })).status, 303);
  t.like(await server.knex('users').where({ openid }).first(), { subscribed: 1 });
  t.is((await sim.post('/simulator/unfollow', { openid })).status, 303);
  const user = await server.knex('users').where({ openid }).first();
  t.is(Boolean(user.subscribed), false);
  t.is(user.session_version, 1);
});

test('the SMS inbox shows what the console provider sent', async (t) => {
  const { server } = await setup(t);
  const { browser, scene } = await openLoginPage(server);
  const sim = await simulatorPhone(server);
  await sim.scan(await sim.createPersona('短信'), scene);
  await poll(browser, scene);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  await browser.postForm('/bind/code', { phone: '13812345678', _csrf: csrf });
  const code = server.handle.smsInbox.list()[0].code;
  t.regex(code, /^\d{6}$/);
  t.regex(await (await sim.phone.get('/simulator')).text(), new RegExp(`<strong class="sms-code">${code}</strong>`));
});

test('every page shows the simulator banner while it is on', async (t) => {
  const { server } = await setup(t);
  const page = await (await fetch(`${server.url}/login`)).text();
  t.regex(page, /模拟器模式/);
});

test('with a real Official Account configured, the simulator is not mounted', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, WECHAT_APP_ID: 'wxreal', WECHAT_APP_SECRET: 'secret', WECHAT_TOKEN: 'tok', WECHAT_API_BASE: 'http://127.0.0.1:9' } });
  t.false(server.config.simulator);
  t.is((await fetch(`${server.url}/simulator`)).status, 404);
  t.is((await fetch(`${server.url}/simulator/api/cgi-bin/token`)).status, 404);
  t.notRegex(await (await fetch(`${server.url}/healthz`)).text(), /模拟器/);
});

test('the authorize page refuses a wrong appid and a redirect_uri off the configured domain', async (t) => {
  const { server, appid } = await setup(t);
  const base = `${server.url}/simulator/api/connect/oauth2/authorize?response_type=code&scope=snsapi_base&state=s`;
  const good = await fetch(`${base}&appid=${appid}&redirect_uri=${encodeURIComponent(`${server.url}/auth/wechat/callback`)}`);
  t.is(good.status, 200);
  const wrongApp = await fetch(`${base}&appid=wxother&redirect_uri=${encodeURIComponent(`${server.url}/auth/wechat/callback`)}`);
  t.is(wrongApp.status, 400);
  t.regex(await wrongApp.text(), /appid 参数错误/);
  const offSite = await fetch(`${base}&appid=${appid}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`);
  t.is(offSite.status, 400);
  t.regex(await offSite.text(), /10003/);
});

test('sns/oauth2/access_token: 40125 for a wrong secret, 40029 for an unknown code, 40163 for a used one; userinfo needs the userinfo scope', async (t) => {
  const { server, api, appid, secret } = await setup(t);
  const sim = await simulatorPhone(server);
  const openid = await sim.createPersona('授权');
  const approve = async (scope: string) => {
    const response = await sim.post('/simulator/authorize', { openid, appid, redirect_uri: `${server.url}/auth/wechat/callback`, response_type: 'code', scope, state: 'st' });
    return new URL(response.headers.get('location')!).searchParams.get('code')!;
  };
  const code = await approve('snsapi_base');
  t.like(await api(`/sns/oauth2/access_token?appid=${appid}&secret=wrong&code=${code}&grant_type=authorization_code`), { errcode: 40125 });
  t.like(await api(`/sns/oauth2/access_token?appid=${appid}&secret=${secret}&code=nope&grant_type=authorization_code`), { errcode: 40029 });
  const grant = await api(`/sns/oauth2/access_token?appid=${appid}&secret=${secret}&code=${code}&grant_type=authorization_code`);
  t.like(grant, { openid, scope: 'snsapi_base', expires_in: 7200 });
  t.like(await api(`/sns/oauth2/access_token?appid=${appid}&secret=${secret}&code=${code}&grant_type=authorization_code`), { errcode: 40163 });
  t.like(await api(`/sns/userinfo?access_token=${grant.access_token}&openid=${openid}`), { errcode: 48001 });
  const full = await api(`/sns/oauth2/access_token?appid=${appid}&secret=${secret}&code=${await approve('snsapi_userinfo')}&grant_type=authorization_code`);
  t.like(await api(`/sns/userinfo?access_token=${full.access_token}&openid=${openid}`), { openid, nickname: '授权', unionid: full.unionid });
  t.like(await api(`/sns/userinfo?access_token=bogus&openid=${openid}`), { errcode: 40001 });
});

test('jscode2session and getuserphonenumber: codes from the generator, the mini-program token only, one unionid for both apps', async (t) => {
  const { server, api, postJson, appid, secret } = await setup(t);
  const mini = server.config.miniProgram!;
  const sim = await simulatorPhone(server);
  const openid = await sim.createPersona('小程序');
  await sim.post('/simulator/codes', { openid, kind: 'js' });
  const jsCode = (await sim.chat(openid)).match(/data-kind="js">([0-9a-f]+)</)![1];
  t.like(await api(`/sns/jscode2session?appid=${appid}&secret=${secret}&js_code=${jsCode}&grant_type=authorization_code`), { errcode: 40029 }, 'a code for another app');
  const session = await api(`/sns/jscode2session?appid=${mini.appId}&secret=${mini.appSecret}&js_code=${jsCode}&grant_type=authorization_code`);
  t.not(session.openid, openid, 'the mini-program sees its own openid');
  t.is(typeof session.session_key, 'string');
  const { access_token: oaToken } = await api(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`);
  const { access_token: miniToken } = await api(`/cgi-bin/token?grant_type=client_credential&appid=${mini.appId}&secret=${mini.appSecret}`);
  // user/info shows the unionid of followers only.
  await sim.post('/simulator/follow', { openid });
  const userInfo = await api(`/cgi-bin/user/info?access_token=${oaToken}&openid=${openid}`);
  t.is(session.unionid, userInfo.unionid);
  await sim.post('/simulator/codes', { openid, kind: 'phone' });
  const phoneCode = (await sim.chat(openid)).match(/data-kind="phone">([0-9a-f]+)</)![1];
  t.like(await postJson(`/wxa/business/getuserphonenumber?access_token=${oaToken}`, { code: phoneCode }), { errcode: 40001 });
  const phone = await postJson(`/wxa/business/getuserphonenumber?access_token=${miniToken}`, { code: phoneCode });
  t.like(phone, { errcode: 0, phone_info: { countryCode: '86' } });
  t.regex(phone.phone_info.purePhoneNumber, /^139\d{8}$/);
  t.like(await postJson(`/wxa/business/getuserphonenumber?access_token=${miniToken}`, { code: phoneCode }), { errcode: 40163 });
});

test('/simulator/version changes only when what the phone page shows changes', async (t) => {
  const { server } = await setup(t);
  const sim = await simulatorPhone(server);
  const versionOf = async (openid?: string) => {
    const response = await sim.phone.get(`/simulator/version${openid ? `?as=${encodeURIComponent(openid)}` : ''}`);
    t.is(response.status, 200);
    t.is(response.headers.get('cache-control'), 'no-store');
    return ((await response.json()) as { version: string }).version;
  };
  const empty = await versionOf();
  t.regex(empty, /^[\w-]{16}$/);
  t.is(await versionOf(), empty, 'the same state, the same version');

  const openid = await sim.createPersona('版本');
  const withPersona = await versionOf(openid);
  t.not(withPersona, empty);
  // The page carries the version the script starts from.
  t.true((await sim.chat(openid)).includes(`data-version="${withPersona}"`));

  const { browser, scene } = await openLoginPage(server);
  const withCode = await versionOf(openid);
  t.not(withCode, withPersona, 'a new waiting code');
  t.is(await versionOf(openid), withCode, 'the seconds ticking down are not a change');

  await sim.scan(openid, scene);
  const afterScan = await versionOf(openid);
  t.not(afterScan, withCode, 'the chat and the waiting list changed');
  t.is((await poll(browser, scene)).body.status, 'bind');

  const csrf = csrfOf(await (await browser.get('/bind')).text());
  t.is((await browser.postForm('/bind/code', { phone: '13800138777', _csrf: csrf })).status, 200);
  t.not(await versionOf(openid), afterScan, 'an SMS arrived');
});

test('the simulator speaks the visitor\'s language, from the catalogue like every page', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const zh = await (await fetch(`${server.url}/simulator`)).text();
  t.regex(zh, /<h1>微信模拟器<\/h1>/);
  t.regex(zh, /短信收件箱/);
  t.notRegex(zh, /SMS inbox/);
  const en = await (await fetch(`${server.url}/simulator?lang=en`)).text();
  t.regex(en, /<h1>WeChat simulator<\/h1>/);
  t.regex(en, /SMS inbox/);
  t.notRegex(en, /短信收件箱/);
  t.regex(en, /href="\/simulator\?lang=zh"/, 'the same language switch as the other pages');
});
