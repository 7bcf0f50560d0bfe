import test from 'ava';
import { InvalidAuthCodeError, WechatAnswerError } from '../../src/wechat/errors.js';
import { BrowserClient, sceneOf } from '../helpers/browser-client.js';
import { realWechatAt, startFakeWechat, startWechatClients, type FakeHandler } from '../helpers/fake-wechat.js';
import { plainScanLogin, startServer, type Teardown } from '../helpers/server.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

/**
 * Every WeChat answer is checked with zod where it is read (src/wechat/*-api.ts,
 * access-token.ts): what does not fit is left out with one warning naming
 * the API and the field, never the value; what a login cannot do without is a
 * WechatAnswerError, which the HTTP layer answers 502.
 */

/** One character more than users.unionid and users.openid hold (migrations/20261121000001_create_users.ts). */
const overlong = 'x'.repeat(65);

const token: FakeHandler = () => ({ access_token: 'tok', expires_in: 7200 });

const grant = { openid: 'o_1', accessToken: 'sns-token', isSnapshotUser: false };

test('user/info with an over-long unionid: no unionid, and one warning that names the field, not the value', async (t) => {
  const { api, warnings } = await startWechatClients(t, {
    '/cgi-bin/stable_token': token,
    '/cgi-bin/user/info': () => ({ subscribe: 1, openid: 'o_1', unionid: overlong }),
  });
  const info = await api.getUserInfo('o_1');
  t.deepEqual(info, { openid: 'o_1' });
  t.deepEqual(warnings, [{ message: 'WeChat answer: left out what did not fit', fields: { api: '/cgi-bin/user/info', dropped: ['unionid'] } }]);
  t.false(JSON.stringify(warnings).includes(overlong));
});

test('non-string fields are left out: a number as unionid, an object as nickname, a javascript: avatar', async (t) => {
  const { api, oauth, warnings } = await startWechatClients(t, {
    '/cgi-bin/stable_token': token,
    '/cgi-bin/user/info': () => ({ subscribe: 1, openid: 'o_1', unionid: 12345 }),
    '/sns/userinfo': () => ({ openid: 'o_1', nickname: { first: 'A' }, headimgurl: 'javascript:alert(1)', unionid: 'u_1' }),
  });
  t.deepEqual(await api.getUserInfo('o_1'), { openid: 'o_1' });
  t.deepEqual(await oauth.getUserInfo(grant), { unionid: 'u_1' });
  t.deepEqual(
    warnings.map((warning) => warning.fields),
    [
      { api: '/cgi-bin/user/info', dropped: ['unionid'] },
      { api: '/sns/userinfo', dropped: ['nickname', 'headimgurl'] },
    ],
  );
});

test("sns/userinfo that fits is read as it is, an empty avatar included (WeChat's 'no avatar')", async (t) => {
  const { oauth, warnings } = await startWechatClients(t, {
    '/sns/userinfo': () => ({ openid: 'o_1', nickname: '小明', headimgurl: '', unionid: 'u_1', sex: 0, privilege: [] }),
  });
  t.deepEqual(await oauth.getUserInfo(grant), { nickname: '小明', headimgurl: '', unionid: 'u_1' });
  t.deepEqual(warnings, []);
});

test('batchget: an item that does not fit is left out alone, and the others keep their unionids', async (t) => {
  const { api, warnings } = await startWechatClients(t, {
    '/cgi-bin/stable_token': token,
    '/cgi-bin/user/info/batchget': () => ({
      user_info_list: [
        { subscribe: 1, openid: 'o_1', unionid: 'u_1' },
        { subscribe: 1, openid: overlong, unionid: 'u_2' },
        { subscribe: 1, openid: 'o_3', unionid: overlong },
        { subscribe: 1, openid: 'o_4', unionid: 'u_4' },
      ],
    }),
  });
  const infos = await api.getUserInfos(['o_1', 'o_2', 'o_3', 'o_4']);
  t.deepEqual(infos, [{ openid: 'o_1', unionid: 'u_1' }, { openid: 'o_3' }, { openid: 'o_4', unionid: 'u_4' }]);
  t.deepEqual(warnings.map((warning) => warning.fields), [{ api: '/cgi-bin/user/info/batchget', dropped: ['user_info_list[].openid', 'user_info_list[].unionid'] }]);
});

test('a missing or malformed access_token is a WechatAnswerError naming the field, and nothing is cached', async (t) => {
  const answers: [unknown, string][] = [
    [{ expires_in: 7200 }, 'access_token'],
    [{ access_token: 42, expires_in: 7200 }, 'access_token'],
    [{ access_token: 'tok', expires_in: '7200' }, 'expires_in'],
  ];
  for (const [answer, field] of answers) {
    const { tokens, cache } = await startWechatClients(t, { '/cgi-bin/stable_token': () => answer });
    const error = await t.throwsAsync(tokens.getToken(), { instanceOf: WechatAnswerError });
    t.is(error.path, '/cgi-bin/stable_token');
    t.deepEqual(error.fields, [field]);
    t.is(cache.keys().length, 0);
  }
});

test('a stable_token in its last second (expires_in 0) is still a token', async (t) => {
  const { tokens } = await startWechatClients(t, { '/cgi-bin/stable_token': () => ({ access_token: 'last-second', expires_in: 0 }) });
  t.is(await tokens.getToken(), 'last-second');
});

test('the fields a login cannot do without are WechatAnswerErrors: the openid of oauth2, the url of qrcode/create, session_key and openid of jscode2session, the phone', async (t) => {
  const { api, oauth, miniProgram, warnings } = await startWechatClients(t, {
    '/cgi-bin/stable_token': token,
    '/sns/oauth2/access_token': () => ({ access_token: 'sns-token', expires_in: 7200, scope: 'snsapi_base' }),
    '/cgi-bin/qrcode/create': () => ({ ticket: 'T', expire_seconds: 300, url: 'javascript:alert(1)' }),
    '/sns/jscode2session': () => ({ openid: overlong, unionid: 'u_1' }),
    '/wxa/business/getuserphonenumber': () => ({ errcode: 0, errmsg: 'ok', phone_info: { purePhoneNumber: 13800138000 } }),
  });
  t.deepEqual((await t.throwsAsync(oauth.exchangeCode('code'), { instanceOf: WechatAnswerError })).fields, ['openid']);
  t.deepEqual((await t.throwsAsync(api.createLoginQrcode('scene', 300), { instanceOf: WechatAnswerError })).fields, ['url']);
  t.deepEqual((await t.throwsAsync(miniProgram.codeToSession('code'), { instanceOf: WechatAnswerError })).fields, ['openid', 'session_key']);
  const phone = await t.throwsAsync(miniProgram.getPhoneNumber('code'), { instanceOf: WechatAnswerError });
  t.deepEqual(phone.fields, ['phone_info.purePhoneNumber']);
  t.false(phone.message.includes('13800138000'), 'the message names fields, never values');
  t.deepEqual(warnings, [], 'an error, not a warning as well');
});

test('errcode keeps coming first: an error answer is a WechatError whatever its other fields, never an answer error', async (t) => {
  const { oauth } = await startWechatClients(t, { '/sns/oauth2/access_token': () => ({ errcode: 40163, errmsg: 'code been used' }) });
  const error = await t.throwsAsync(oauth.exchangeCode('used'), { instanceOf: InvalidAuthCodeError });
  t.is(error.errcode, 40163);
});

test('is_snapshotuser other than absent or 0 is read as a snapshot account, so a misread refuses', async (t) => {
  let snapshot: unknown;
  const { oauth, warnings } = await startWechatClients(t, {
    '/sns/oauth2/access_token': () => ({ access_token: 'sns-token', openid: 'o_1', scope: 'snsapi_userinfo', is_snapshotuser: snapshot }),
  });
  for (const [value, expected] of [[undefined, false], [0, false], [1, true], ['1', true], [null, true]] as const) {
    snapshot = value;
    t.is((await oauth.exchangeCode('code')).isSnapshotUser, expected, `is_snapshotuser ${JSON.stringify(value)}`);
  }
  t.deepEqual(warnings, []);
});

/** The real server, WeChat being a fake; with a mini-program, so a newcomer's unionid is asked for before the scan is recorded (scan-recording.ts). */
async function startServerWithFakeWechat(t: Teardown, handlers: Record<string, FakeHandler>) {
  const fake = await startFakeWechat({
    '/cgi-bin/stable_token': token,
    '/cgi-bin/qrcode/create': () => ({ ticket: 'T', expire_seconds: 300, url: 'http://weixin.qq.com/q/x' }),
    ...handlers,
  });
  t.teardown(() => fake.close());
  const server = await startServer(t, {
    env: { ...plainScanLogin, ...realWechatAt(fake), MINIPROGRAM_APP_ID: 'wxmini', MINIPROGRAM_APP_SECRET: 'mini-secret' },
  });
  return { fake, server };
}

// Before the answers were checked, this scan was answered 500: users.unionid cannot hold the unionid.
test('a newcomer scanning while user/info answers an over-long unionid is recorded without it (200), with one warning naming the field', async (t) => {
  const { fake, server } = await startServerWithFakeWechat(t, {
    '/cgi-bin/user/info': (request) => ({ subscribe: 1, openid: request.query.get('openid'), unionid: overlong }),
  });
  const scene = sceneOf(await (await new BrowserClient(server.url).get('/login')).text());

  const reply = await postCallback(
    server.url,
    signedQuery({ token: 'tok' }),
    eventXml({ openid: 'o_newcomer', event: 'subscribe', eventKey: `qrscene_${scene}`, toUser: 'gh_real' }),
  );

  t.is(reply.status, 200);
  t.is(fake.count('/cgi-bin/user/info'), 1);
  t.like(await server.knex('users').where({ openid: 'o_newcomer' }).first(), { unionid: null });
  const warnings = server.logs.filter((line) => line.level === 'warn');
  t.deepEqual(warnings.map((line) => line.fields), [{ api: '/cgi-bin/user/info', dropped: ['unionid'] }]);
  t.false(JSON.stringify(server.logs).includes(overlong), 'the value is personal data');
});

test('a mini-program login whose jscode2session answer lacks the session_key is answered 502 wechat_unavailable, not 500', async (t) => {
  const { server } = await startServerWithFakeWechat(t, { '/sns/jscode2session': () => ({ openid: 'm_1' }) });
  const response = await fetch(`${server.url}/api/miniprogram/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: 'js-code' }),
  });
  t.is(response.status, 502);
  t.deepEqual(await response.json(), { error: 'wechat_unavailable' });
  t.is(await server.knex('users').count({ n: '*' }).first().then((row) => Number(row!.n)), 0);
});
