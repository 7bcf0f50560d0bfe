import test from 'ava';
import { bindPhone, logInNewUser, openLoginPage, poll } from '../../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../../helpers/server.js';
import { openSimulator } from '../../helpers/simulator-phone.js';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const call = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  return { server, sim, call };
}

test('login with a wx.login() code gives a token and needPhone; getPhoneNumber binds the verified phone', async (t) => {
  const { server, sim, call } = await setup(t);
  const openid = await sim.createPersona('小程序用户');
  const login = await call('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') });
  t.is(login.status, 200);
  t.is(login.body.needPhone, true);
  t.regex(login.body.token, /^[A-Za-z0-9_-]{40,}$/);
  t.is(login.body.session_key, undefined, 'session_key never leaves the server');
  t.false(JSON.stringify(login.body).includes('session_key'));

  const bound = await call('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, login.body.token);
  t.is(bound.status, 200);
  const row = await server.knex('users').whereNotNull('mini_openid').first();
  t.is(row.phone, bound.body.phone);
  t.regex(row.phone, /^1\d{10}$/);
  t.is(row.openid, null, 'no Official Account openid yet');
  const again = await call('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') });
  t.is(again.body.needPhone, false);
  t.is(Number((await server.knex('user_sessions').where({ method: 'miniprogram' }).count({ n: '*' }).first())!.n), 2);
  const stored = await server.knex('api_tokens').select('token_hash');
  t.false(stored.some((entry) => entry.token_hash === login.body.token), 'tokens are stored hashed');
});

test('the QR user and the mini-program user come out as one user through the unionid', async (t) => {
  const { server, sim, call } = await setup(t);
  const openid = await sim.createPersona('两端');
  const { browser, scene } = await openLoginPage(server);
  // Through the phone page: the persona follows first, so user/info tells the server the unionid (as in WeChat).
  await sim.scan(openid, scene);
  t.is((await poll(browser, scene)).body.status, 'bind');
  await bindPhone(server, browser, '13855556666');
  const login = await call('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') });
  t.is(login.body.needPhone, false, 'the phone bound on the web counts in the mini-program');
  const users = await server.knex('users').select();
  t.is(users.length, 1);
  t.truthy(users[0].openid);
  t.truthy(users[0].mini_openid);
  t.truthy(users[0].unionid);
});

test('the mini-program user first, the QR scan later: still one user', async (t) => {
  const { server, sim, call } = await setup(t);
  const openid = await sim.createPersona('先小程序');
  await call('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') });
  const { browser, scene } = await openLoginPage(server);
  // Through the phone page: the persona follows first, so user/info tells the server the unionid (as in WeChat).
  await sim.scan(openid, scene);
  await poll(browser, scene);
  const users = await server.knex('users').select();
  t.is(users.length, 1);
  t.is(users[0].openid, openid);
});

test('a phone bound to another user gets 409', async (t) => {
  const { server, sim, call } = await setup(t);
  const other = await sim.createPersona('乙');
  const takenNumber = (await sim.pageOf(other)).match(/getPhoneNumber \((\d+)\)/)![1];
  // Someone else bound that number on the web first.
  await logInNewUser(server, 'o_jia', takenNumber);
  const login = await call('/api/miniprogram/login', { code: await sim.generateCode(other, 'js') });
  const conflict = await call('/api/miniprogram/phone', { code: await sim.generateCode(other, 'phone') }, login.body.token);
  t.is(conflict.status, 409);
  t.deepEqual(conflict.body, { error: 'phone_taken' });
  t.is((await server.knex('users').whereNotNull('mini_openid').first()).phone, null);
});

test('bad JSON, a missing code, a reused code and bad tokens get 400 or 401 with a JSON error', async (t) => {
  const { sim, call } = await setup(t);
  t.deepEqual(await call('/api/miniprogram/login', '{"code": '), { status: 400, body: { error: 'bad_request' } });
  t.deepEqual(await call('/api/miniprogram/login', {}), { status: 400, body: { error: 'missing_code' } });
  t.deepEqual(await call('/api/miniprogram/login', { code: 42 }), { status: 400, body: { error: 'missing_code' } });
  const openid = await sim.createPersona('重用');
  const code = await sim.generateCode(openid, 'js');
  const login = await call('/api/miniprogram/login', { code });
  t.is(login.status, 200);
  t.deepEqual(await call('/api/miniprogram/login', { code }), { status: 400, body: { error: 'invalid_code' } });
  t.deepEqual(await call('/api/miniprogram/login', { code: 'never-issued' }), { status: 400, body: { error: 'invalid_code' } });
  const phoneCode = await sim.generateCode(openid, 'phone');
  t.deepEqual(await call('/api/miniprogram/phone', { code: phoneCode }), { status: 401, body: { error: 'unauthenticated' } });
  t.deepEqual(await call('/api/miniprogram/phone', { code: phoneCode }, 'x'.repeat(43)), { status: 401, body: { error: 'unauthenticated' } });
});

test('POST /api/miniprogram/logout revokes the token (204); unfollowing revokes every token of the user', async (t) => {
  const { server, sim, call } = await setup(t);
  const openid = await sim.createPersona('退出');
  const logout = (token?: string) =>
    fetch(`${server.url}/api/miniprogram/logout`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const first = await call('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') });
  const response = await logout(first.body.token);
  t.is(response.status, 204);
  t.is((await call('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, first.body.token)).status, 401);
  t.is((await logout(first.body.token)).status, 401, 'a revoked token cannot be revoked again');
  t.is((await logout()).status, 401);
  // The same person also follows the Official Account (one user through the unionid), then unfollows.
  const second = await call('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') });
  const { browser, scene } = await openLoginPage(server);
  // Through the phone page: the persona follows first, so user/info tells the server the unionid (as in WeChat).
  await sim.scan(openid, scene);
  await poll(browser, scene);
  await sim.post('/simulator/unfollow', { openid });
  t.is((await call('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, second.body.token)).status, 401);
});

test('an expired or revoked token gets 401', async (t) => {
  const { server, sim, call } = await setup(t);
  const openid = await sim.createPersona('过期');
  const login = await call('/api/miniprogram/login', { code: await sim.generateCode(openid, 'js') });
  await server.knex('api_tokens').update({ expires_at: new Date(Date.now() - 1000) });
  t.is((await call('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, login.body.token)).status, 401);
  await server.knex('api_tokens').update({ expires_at: new Date(Date.now() + 100_000), revoked_at: new Date() });
  t.is((await call('/api/miniprogram/phone', { code: await sim.generateCode(openid, 'phone') }, login.body.token)).status, 401);
});
