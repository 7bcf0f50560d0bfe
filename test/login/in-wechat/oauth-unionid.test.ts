import test from 'ava';
import { BrowserClient } from '../../helpers/browser-client.js';
import { databaseKinds } from '../../helpers/databases.js';
import { bindPhone } from '../../helpers/login-flow.js';
import { authorize, logInInWechat } from '../../helpers/oauth-flow.js';
import { startServer, plainScanLogin, type TestServer } from '../../helpers/server.js';
import { openSimulator } from '../../helpers/simulator-phone.js';

/**
 * sns/oauth2/access_token gives a unionid only under snsapi_userinfo
 * (https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken),
 * so an in-WeChat login with the default snsapi_base must not turn someone the
 * mini-program knows into a second user. Both orders, on both databases,
 * against the corrected simulator.
 */
async function setup(t: { teardown(fn: () => unknown): void }, database: 'sqlite' | 'mysql') {
  const server = await startServer(t, { database, env: plainScanLogin });
  const sim = await openSimulator(server);
  const miniProgram = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  const miniLogin = async (openid: string) => (await miniProgram('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') })).body;
  const inWechat = () => new BrowserClient(server.url, { 'user-agent': 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.49' });
  return { server, sim, miniProgram, miniLogin, inWechat };
}

const usersOf = (server: TestServer) => server.knex('users').select('id', 'openid', 'mini_openid', 'unionid', 'phone').orderBy('id');

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`[${kind}] mini-program first: the base-scope login asks for snsapi_userinfo once and joins the same user`, async (t) => {
    const { server, sim, miniProgram, miniLogin, inWechat } = await setup(t, kind);
    const openid = await sim.createPersona('先小程序');
    const mini = await miniLogin(openid);
    const bound = await miniProgram('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, mini.token);
    t.is(bound.status, 200);

    const browser = inWechat();
    const { answer, scopes } = await logInInWechat(browser, sim.phone, openid);
    t.deepEqual(scopes, ['snsapi_base', 'snsapi_userinfo']);
    t.is(answer.headers.get('location'), '/profile', 'the phone bound in the mini-program counts: no /bind');
    const rows = await usersOf(server);
    t.is(rows.length, 1);
    t.like(rows[0], { openid, phone: bound.body.phone });
    t.truthy(rows[0].mini_openid);
    const me = await (await browser.get('/api/me')).json();
    t.like(me, { openid, unionid: rows[0].unionid });
    t.deepEqual(me.logins.map((login: { method: string }) => login.method), ['oauth', 'miniprogram']);

    // Known now: the next in-WeChat login is silent (snsapi_base only).
    const again = await logInInWechat(inWechat(), sim.phone, openid);
    t.deepEqual(again.scopes, ['snsapi_base']);
    t.is(again.answer.headers.get('location'), '/profile');
  });

  declare(`[${kind}] OAuth first: the mini-program login later finds the same user by unionid`, async (t) => {
    const { server, sim, miniLogin, inWechat } = await setup(t, kind);
    const openid = await sim.createPersona('先公众号');
    const browser = inWechat();
    const { answer } = await logInInWechat(browser, sim.phone, openid);
    t.is(answer.headers.get('location'), '/bind');
    t.is((await bindPhone(server, browser, '13855556666')).status, 303);

    const mini = await miniLogin(openid);
    t.is(mini.needPhone, false, 'the phone bound in WeChat counts in the mini-program');
    const rows = await usersOf(server);
    t.is(rows.length, 1);
    t.like(rows[0], { openid, phone: '13855556666' });
    t.truthy(rows[0].mini_openid);
    t.truthy(rows[0].unionid);
  });

  declare(`[${kind}] a follower's unionid comes from user/info: no consent screen`, async (t) => {
    const { server, sim, miniLogin, inWechat } = await setup(t, kind);
    const openid = await sim.createPersona('关注者');
    await miniLogin(openid);
    // Following from the phone creates no user here (our server learns the unionid and joins the mini-program's row).
    await sim.post('/simulator/follow', { openid });
    t.is((await usersOf(server)).length, 1, 'the follow joined the mini-program user');
    const { scopes } = await logInInWechat(inWechat(), sim.phone, openid);
    t.deepEqual(scopes, ['snsapi_base']);
    t.is((await usersOf(server)).length, 1);
  });

  for (const miniFirst of [false, true]) {
    const order = miniFirst ? 'mini-program first' : 'OAuth first';
    declare(`[${kind}] ${order}, declining the second consent still logs in; the rows are merged into the Official Account user when the unionid becomes known, nothing lost`, async (t) => {
      const { server, sim, miniProgram, miniLogin, inWechat } = await setup(t, kind);
      const openid = await sim.createPersona('拒绝');
      // With the mini-program first, its user is the older row; the Official Account user must stay all the same (its id is the OpenID sub).
      const miniFirstLogin = miniFirst ? await miniLogin(openid) : undefined;
      // OAuth, declined: WeChat comes back with the state and no code.
      const browser = inWechat();
      const first = await (await authorize(browser, sim.phone, openid)).finish();
      const second = new URL(first.headers.get('location')!.split('#')[0]);
      t.is(second.searchParams.get('scope'), 'snsapi_userinfo');
      const declined = await browser.get(`/auth/wechat/callback?state=${second.searchParams.get('state')}`);
      t.is(declined.headers.get('location'), '/bind');
      t.is((await bindPhone(server, browser, '13877778888')).status, 303);
      // The mini-program cannot know it is the same person yet: two rows for now.
      const mini = miniFirstLogin ?? (await miniLogin(openid));
      t.is(mini.needPhone, true);
      const before = await usersOf(server);
      t.is(before.length, 2);
      const official = before.find((row) => row.openid === openid)!;
      const miniRow = before.find((row) => row.mini_openid !== null)!;
      t.is(miniRow.id < official.id, miniFirst);

      // The follow makes user/info answer the unionid: the rows become one, with both logins and the mini-program token.
      await sim.post('/simulator/follow', { openid });
      const after = await usersOf(server);
      t.is(after.length, 1);
      t.like(after[0], { id: official.id, openid, mini_openid: miniRow.mini_openid, unionid: miniRow.unionid, phone: '13877778888' });
      const methods = await server.knex('user_sessions').where({ user_id: after[0].id }).pluck('method');
      t.deepEqual(methods.sort(), ['miniprogram', 'oauth']);
      // The mini-program's token now belongs to the merged user, who has a phone.
      const phone = await miniProgram('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, mini.token);
      t.is(phone.status, 409, 'the merged user already has a phone; the token still works');
      t.is((await browser.get('/api/me')).status, 200, 'the browser session survives the merge');
    });
  }

  declare(`[${kind}] two rows with different phones are not merged`, async (t) => {
    const { server, sim, miniProgram, miniLogin, inWechat } = await setup(t, kind);
    const openid = await sim.createPersona('两个手机');
    const browser = inWechat();
    const first = await (await authorize(browser, sim.phone, openid)).finish();
    const state = new URL(first.headers.get('location')!.split('#')[0]).searchParams.get('state');
    await browser.get(`/auth/wechat/callback?state=${state}`);
    await bindPhone(server, browser, '13811110000');
    const mini = await miniLogin(openid);
    await miniProgram('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, mini.token);
    await sim.post('/simulator/follow', { openid });
    const rows = await usersOf(server);
    t.is(rows.length, 2, 'a person decides which phone is right (npm run admin)');
    t.is(rows[0].unionid, null);
    t.is(rows[0].phone, '13811110000');
  });

  declare(`[${kind}] a snapshot-page account is refused with a page that says what to do, and never becomes or joins a user`, async (t) => {
    const { server, sim, miniLogin, inWechat } = await setup(t, kind);
    const openid = await sim.createPersona('快照用户');
    await miniLogin(openid);
    await sim.post('/simulator/snapshot', { openid, on: '1' });
    // Straight to snsapi_userinfo, and through the base → userinfo escalation: both refused.
    for (const path of ['/auth/wechat?scope=userinfo', '/auth/wechat']) {
      const { answer } = await logInInWechat(inWechat(), sim.phone, openid, path);
      t.is(answer.status, 403, path);
      t.regex(await answer.text(), /使用完整服务/);
    }
    const rows = await usersOf(server);
    t.is(rows.length, 1);
    t.is(rows[0].openid, null, 'nobody got the virtual openid, and the mini-program user was not joined to it');
    // Out of snapshot mode, the same person logs in and joins the mini-program user.
    await sim.post('/simulator/snapshot', { openid, on: '0' });
    const { answer } = await logInInWechat(inWechat(), sim.phone, openid);
    t.is(answer.status, 302);
    t.like((await usersOf(server))[0], { openid });
    t.is((await usersOf(server)).length, 1);
  });
}
