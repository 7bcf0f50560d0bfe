import test from 'ava';
import { createPersona } from '../../helpers/confirm-flow.js';
import { databaseKinds } from '../../helpers/databases.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { bindPhone, openLoginPage, poll } from '../../helpers/login-flow.js';
import { logInWithOpenQr } from '../../helpers/open-flow.js';
import { logInInWechat } from '../../helpers/oauth-flow.js';
import { openMiniProgramLoginPage } from '../../helpers/mini-program-runtime.js';
import { plainScanLogin, startServer, type TestServer } from '../../helpers/server.js';
import { openSimulator } from '../../helpers/simulator-phone.js';

const usersOf = (server: TestServer) => server.knex('users').select('id', 'openid', 'mini_openid', 'open_openid', 'unionid', 'phone');

/** The other ways a person may have come in first: a QR scan, the mini-program's code, OAuth inside WeChat. */
const firstWays = {
  'an Official Account scan': async (server: TestServer, openid: string) => {
    // The simulator's phone: its follow comes first, as in WeChat, so user/info gives the unionid.
    const { browser, scene } = await openLoginPage(server);
    await (await openSimulator(server)).scan(openid, scene);
    await poll(browser, scene);
    return browser;
  },
  'the mini-program': async (server: TestServer, openid: string) => {
    const page = await openLoginPage(server, '/login?method=miniprogram-code');
    const miniScene = page.html.match(/data-mini-scene="([^"]+)"/)![1];
    const mini = await openMiniProgramLoginPage(server, openid);
    await mini.onLoad({ scene: miniScene });
    await mini.onApprove();
    await poll(page.browser, page.scene);
    return page.browser;
  },
  'OAuth inside WeChat': async (server: TestServer, openid: string) => {
    const browser = new BrowserClient(server.url);
    await logInInWechat(browser, (await openSimulator(server)).phone, openid, '/auth/wechat?scope=userinfo');
    return browser;
  },
} as const;

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: a newcomer logs in on the website with WeChat's own page, binds a phone, and is one user with a unionid`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const openid = await createPersona(server, 'Web');
    const { answer, qrconnect, browser } = await logInWithOpenQr(server, openid);
    t.is(qrconnect.pathname, '/simulator/api/connect/qrconnect');
    t.is(qrconnect.searchParams.get('scope'), 'snsapi_login');
    t.is(answer.status, 302);
    t.is(answer.headers.get('location'), '/bind');
    t.is((await bindPhone(server, browser, '13800138041')).status, 303);
    const me = (await (await browser.get('/api/me')).json()) as { logins: { method: string }[] };
    t.is(me.logins[0].method, 'open');
    const [user] = await usersOf(server);
    t.truthy(user.open_openid);
    t.not(user.open_openid, openid, "the website's openid is its own");
    t.truthy(user.unionid);
  });

  for (const [way, logInFirst] of Object.entries(firstWays)) {
    declare(`${kind}: known first through ${way}, then open-qr (and the other way round): one user, the same phone, the same id`, async (t) => {
      const server = await startServer(t, { database: kind, env: plainScanLogin });
      const openid = await createPersona(server, 'Both');
      const first = await logInFirst(server, openid);
      t.is((await bindPhone(server, first, '13800138042')).status, 303);
      const [before] = await usersOf(server);
      const { answer } = await logInWithOpenQr(server, openid);
      t.is(answer.headers.get('location'), '/profile', 'known, with a phone: logged in at once');
      const after = await usersOf(server);
      t.is(after.length, 1);
      t.is(after[0].id, before.id, 'the same user, so the same OIDC sub');
      t.is(after[0].phone, '13800138042');
      t.truthy(after[0].open_openid);

      // The other order, with another person: open-qr first, then that way.
      const second = await createPersona(server, 'Other');
      const web = await logInWithOpenQr(server, second);
      t.is((await bindPhone(server, web.browser, '13800138043')).status, 303);
      const webUser = (await usersOf(server)).find((user) => user.open_openid && user.phone === '13800138043')!;
      await logInFirst(server, second);
      const people = (await usersOf(server)).filter((user) => user.unionid === webUser.unionid);
      t.is(people.length, 1);
      t.is(people[0].id, webUser.id);
      t.is(people[0].phone, '13800138043');
    });
  }
}

test('a replayed state, a refusal on the phone, a code for another app and a used code get clear 400 pages and log nobody in', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const openid = await createPersona(server, 'Careful');
  const done = await logInWithOpenQr(server, openid);
  // The same callback again (a replayed state and code): refused.
  const replayed = await done.browser.get(done.callback.pathname + done.callback.search);
  t.is(replayed.status, 400);
  // Refused on the phone: WeChat comes back with the state alone.
  const refused = await logInWithOpenQr(server, openid, 'deny');
  t.false(refused.callback.searchParams.has('code'));
  t.is(refused.answer.status, 400);
  const refusedPage = await refused.answer.text();
  t.regex(refusedPage, /取消了这次登录/);
  t.regex(refusedPage, /href="\/auth\/wechat\/open"/, 'try again starts this login again');
  // A code the Official Account's OAuth issued is no code of the website application's (40029).
  const browser = new BrowserClient(server.url);
  const start = await browser.get('/auth/wechat/open');
  const state = new URL(start.headers.get('location')!.split('#')[0]).searchParams.get('state')!;
  const oaCode = await (await openSimulator(server)).generateCode(openid, 'js');
  const foreign = await browser.get(`/auth/wechat/open/callback?state=${state}&code=${oaCode}`);
  t.is(foreign.status, 400);
  t.is((await browser.get('/api/me')).status, 401);
});
