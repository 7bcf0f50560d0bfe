import test from 'ava';
import { WechatError, WechatNetworkError } from '../../src/wechat/errors.js';
import type { TokenApi } from '../../src/config.js';
import { delay, startWechatClients, type FakeHandler } from '../helpers/fake-wechat.js';

function setup(t: { teardown(fn: () => unknown): void }, handlers: Record<string, FakeHandler>, tokenApi: TokenApi = 'stable', timeoutMs = 5000) {
  return startWechatClients(t, handlers, { tokenApi, timeoutMs });
}

let issued = 0;
const tokenAnswer: FakeHandler = async () => {
  await delay(20); // slow enough that concurrent callers overlap
  issued += 1;
  return { access_token: `token-${issued}`, expires_in: 7200 };
};

test('100 concurrent callers needing a token cause exactly one stable_token request', async (t) => {
  const { fake, tokens } = await setup(t, { '/cgi-bin/stable_token': tokenAnswer });
  const results = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken()));
  t.is(fake.count('/cgi-bin/stable_token'), 1);
  t.is(new Set(results).size, 1);
  t.deepEqual(fake.requests[0].body, { grant_type: 'client_credential', appid: 'wxapp', secret: 'secret', force_refresh: false });
  // Cached afterwards: no second request.
  await tokens.getToken();
  t.is(fake.count('/cgi-bin/stable_token'), 1);
});

test('WECHAT_TOKEN_API=classic uses GET cgi-bin/token', async (t) => {
  const { fake, tokens } = await setup(t, { '/cgi-bin/token': tokenAnswer }, 'classic');
  await Promise.all([tokens.getToken(), tokens.getToken()]);
  t.is(fake.count('/cgi-bin/token'), 1);
  t.is(fake.requests[0].method, 'GET');
  t.is(fake.requests[0].query.get('grant_type'), 'client_credential');
  t.is(fake.requests[0].query.get('appid'), 'wxapp');
});

test('a token is refreshed early: the cache keeps it for expires_in minus the margin', async (t) => {
  const { tokens, cache } = await setup(t, { '/cgi-bin/stable_token': () => ({ access_token: 'tok', expires_in: 7200 }) });
  const before = Date.now();
  await tokens.getToken();
  const ttl = cache.getTtl('access_token:wxapp')!;
  t.true(ttl - before <= 6900 * 1000 + 1000);
  t.true(ttl - before >= 6900 * 1000 - 1000);
});

test('qrcode/create sends QR_STR_SCENE with the nested scene, and showqrcode encodes the ticket once', async (t) => {
  const { fake, api } = await setup(t, {
    '/cgi-bin/stable_token': () => ({ access_token: 'tok', expires_in: 7200 }),
    '/cgi-bin/qrcode/create': () => ({ ticket: 'gQH+/=ab', expire_seconds: 300, url: 'http://weixin.qq.com/q/abc' }),
  });
  const qrcode = await api.createLoginQrcode('scene-1', 300);
  const create = fake.requests.find((request) => request.path === '/cgi-bin/qrcode/create')!;
  t.is(create.query.get('access_token'), 'tok');
  t.deepEqual(create.body, { expire_seconds: 300, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'scene-1' } } });
  t.deepEqual(qrcode, {
    ticket: 'gQH+/=ab',
    url: 'http://weixin.qq.com/q/abc',
    expireSeconds: 300,
  });
});

test('errcode 40001 drops the token, refreshes once (forced) and retries once', async (t) => {
  let tokenCount = 0;
  const { fake, api } = await setup(t, {
    '/cgi-bin/stable_token': () => ({ access_token: `tok-${++tokenCount}`, expires_in: 7200 }),
    '/cgi-bin/user/info': (request) =>
      request.query.get('access_token') === 'tok-1' ? { errcode: 40001, errmsg: 'invalid credential' } : { subscribe: 1, openid: 'o1' },
  });
  const info = await api.getUserInfo('o1');
  t.is(info.openid, 'o1');
  t.is(fake.count('/cgi-bin/stable_token'), 2);
  t.is(fake.count('/cgi-bin/user/info'), 2);
  t.deepEqual((fake.requests.filter((request) => request.path === '/cgi-bin/stable_token')[1].body as { force_refresh: boolean }).force_refresh, true);
});

test('a 40001 that persists after the refresh is thrown, never looped', async (t) => {
  const { fake, api } = await setup(t, {
    '/cgi-bin/stable_token': () => ({ access_token: 'tok', expires_in: 7200 }),
    '/cgi-bin/user/info': () => ({ errcode: 42001, errmsg: 'access_token expired' }),
  });
  const error = await t.throwsAsync(api.getUserInfo('o1'), { instanceOf: WechatError });
  t.is(error.errcode, 42001);
  t.is(fake.count('/cgi-bin/user/info'), 2);
  t.is(fake.count('/cgi-bin/stable_token'), 2);
});

test('any other errcode is a typed WechatError with errcode and errmsg, and no retry', async (t) => {
  const { fake, api } = await setup(t, {
    '/cgi-bin/stable_token': () => ({ access_token: 'tok', expires_in: 7200 }),
    '/cgi-bin/user/info': () => ({ errcode: 40003, errmsg: 'invalid openid' }),
  });
  const error = await t.throwsAsync(api.getUserInfo('nobody'), { instanceOf: WechatError });
  t.is(error.errcode, 40003);
  t.is(error.errmsg, 'invalid openid');
  t.is(fake.count('/cgi-bin/user/info'), 1);
});

test('wrong credentials at the token endpoint become WechatError 40125', async (t) => {
  const { tokens } = await setup(t, { '/cgi-bin/stable_token': () => ({ errcode: 40125, errmsg: 'invalid appsecret' }) });
  const error = await t.throwsAsync(tokens.getToken(), { instanceOf: WechatError });
  t.is(error.errcode, 40125);
});

test('an API that never answers gives a typed error within the timeout', async (t) => {
  const { tokens } = await setup(t, { '/cgi-bin/stable_token': () => 'hang' }, 'stable', 300);
  const started = Date.now();
  const error = await t.throwsAsync(tokens.getToken(), { instanceOf: WechatNetworkError });
  t.regex(error.reason, /no answer within 300 ms/);
  t.true(Date.now() - started < 2000);
});

test('a dead API (connection refused) gives a typed error, and the next call tries again', async (t) => {
  const { fake, tokens } = await setup(t, { '/cgi-bin/stable_token': () => ({ access_token: 'tok', expires_in: 7200 }) });
  await fake.close();
  await t.throwsAsync(tokens.getToken(), { instanceOf: WechatNetworkError });
  await t.throwsAsync(tokens.getToken(), { instanceOf: WechatNetworkError });
});
