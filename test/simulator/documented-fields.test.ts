import test from 'ava';
import { createSimulatorState } from '../../src/simulator/simulator-state.js';
import { openLoginPage } from '../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../helpers/server.js';
import { openSimulator } from '../helpers/simulator-phone.js';

/**
 * The simulated API answers field for field as WeChat documents it; each
 * test names its page. Checked against WeChat's docs and the clients in
 * co-wechat-api, node-easywechat, wechatpy and WxJava.
 */
async function setup(t: { teardown(fn: () => unknown): void }) {
  const server = await startServer(t, { env: plainScanLogin });
  const api = (path: string, init?: RequestInit) => fetch(`${server.url}/simulator/api${path}`, init).then((response) => response.json());
  const postJson = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const { appId: appid, appSecret: secret } = server.config.wechat;
  const token: string = (await api(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`)).access_token;
  const sim = await openSimulator(server);
  /** The code the authorize page hands back when `openid` approves `scope`. */
  const approve = async (openid: string, scope: string) => {
    const response = await sim.post('/simulator/authorize', { openid, appid, redirect_uri: `${server.url}/auth/wechat/callback`, response_type: 'code', scope, state: 'st' });
    return new URL(response.headers.get('location')!).searchParams.get('code')!;
  };
  const exchange = (code: string) => api(`/sns/oauth2/access_token?appid=${appid}&secret=${secret}&code=${code}&grant_type=authorization_code`);
  return { server, api, postJson, appid, secret, token, sim, approve, exchange };
}

// https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html
test('qrcode/create takes the four kinds with WeChat’s limits; permanent codes have no expire_seconds', async (t) => {
  const { postJson, token } = await setup(t);
  const create = (body: unknown) => postJson(`/cgi-bin/qrcode/create?access_token=${token}`, body);
  const temporary = await create({ expire_seconds: 604_800, action_name: 'QR_SCENE', action_info: { scene: { scene_id: 123 } } });
  t.deepEqual(Object.keys(temporary).sort(), ['expire_seconds', 'ticket', 'url']);
  t.is(temporary.expire_seconds, 604_800);
  t.is((await create({ action_name: 'QR_SCENE', action_info: { scene: { scene_id: 4_294_967_295 } } })).expire_seconds, 60, 'absent expire_seconds means 60');
  const permanent = await create({ action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100_000 } } });
  t.deepEqual(Object.keys(permanent).sort(), ['ticket', 'url']);
  const permanentText = await create({ action_name: 'QR_LIMIT_STR_SCENE', expire_seconds: 300, action_info: { scene: { scene_str: 'x'.repeat(64) } } });
  t.deepEqual(Object.keys(permanentText).sort(), ['ticket', 'url'], 'expire_seconds is ignored for a permanent code');
  t.is((await create({ expire_seconds: 2_592_000, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 's' } } })).expire_seconds, 2_592_000);

  for (const refused of [
    { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 0 } } },
    { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 4_294_967_296 } } },
    { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1.5 } } },
    { action_name: 'QR_SCENE', action_info: { scene: { scene_str: 'text' } } },
    { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100_001 } } },
    { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'x'.repeat(65) } } },
    { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: '' } } },
    { action_name: 'QR_STR_SCENE', expire_seconds: 2_592_001, action_info: { scene: { scene_str: 's' } } },
    { action_name: 'QR_LIMIT_CARD', action_info: { scene: { scene_id: 1 } } },
  ]) {
    t.like(await create(refused), { errcode: 40053 }, JSON.stringify(refused));
  }
});

// https://developers.weixin.qq.com/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html
// (no nickname or headimgurl since 2021-12-27; subscribe 0 means "拉取不到其余信息")
test('user/info: the documented fields for a follower, and only subscribe and openid for anyone else', async (t) => {
  const { server, api, token, sim } = await setup(t);
  const info = (openid: string) => api(`/cgi-bin/user/info?access_token=${token}&openid=${openid}&lang=zh_CN`);
  const openid = await sim.createPersona('字段');
  t.deepEqual(await info(openid), { subscribe: 0, openid });

  const before = Math.floor(Date.now() / 1000);
  const { scene } = await openLoginPage(server);
  t.is((await sim.scan(openid, scene)).status, 303);
  const follower = await info(openid);
  t.deepEqual(Object.keys(follower).sort(), [
    'groupid', 'language', 'openid', 'qr_scene', 'qr_scene_str', 'remark', 'subscribe', 'subscribe_scene', 'subscribe_time', 'tagid_list', 'unionid',
  ]);
  t.like(follower, { subscribe: 1, openid, language: 'zh_CN', remark: '', groupid: 0, subscribe_scene: 'ADD_SCENE_QR_CODE', qr_scene: 0, qr_scene_str: scene });
  t.deepEqual(follower.tagid_list, []);
  t.true(follower.subscribe_time >= before && follower.subscribe_time <= Math.floor(Date.now() / 1000) + 1);
  t.regex(follower.unionid, /^u/);

  await sim.post('/simulator/unfollow', { openid });
  t.deepEqual(await info(openid), { subscribe: 0, openid });
  await sim.post('/simulator/follow', { openid });
  t.like(await info(openid), { subscribe: 1, subscribe_scene: 'ADD_SCENE_SEARCH', qr_scene: 0, qr_scene_str: '' });
});

// The same page, 批量获取用户基本信息: POST {"user_list":[{"openid","lang"}]}, at most 100, answered as user_info_list.
test('user/info/batchget: each openid answered as user/info answers it, in order; one unknown openid refuses the call', async (t) => {
  const { server, postJson, api, token, sim } = await setup(t);
  const follower = await sim.createPersona('批量一');
  const stranger = await sim.createPersona('批量二');
  const { scene } = await openLoginPage(server);
  t.is((await sim.scan(follower, scene)).status, 303);
  const batch = (openids: string[]) => postJson(`/cgi-bin/user/info/batchget?access_token=${token}`, { user_list: openids.map((openid) => ({ openid, lang: 'zh_CN' })) });
  const answer = await batch([stranger, follower]);
  t.deepEqual(Object.keys(answer), ['user_info_list']);
  t.deepEqual(answer.user_info_list, [
    await api(`/cgi-bin/user/info?access_token=${token}&openid=${stranger}&lang=zh_CN`),
    await api(`/cgi-bin/user/info?access_token=${token}&openid=${follower}&lang=zh_CN`),
  ]);
  t.deepEqual(answer.user_info_list[0], { subscribe: 0, openid: stranger });
  t.like(answer.user_info_list[1], { subscribe: 1, openid: follower });
  t.like(await batch([follower, 'o_nobody']), { errcode: 40003 });
  t.like(await batch([]), { errcode: 40032 });
  t.like(await batch(Array.from({ length: 101 }, () => follower)), { errcode: 40032 });
  t.like(await postJson(`/cgi-bin/user/info/batchget?access_token=${token}`, { openid: follower }), { errcode: 47001 });
  t.like(await postJson('/cgi-bin/user/info/batchget?access_token=bogus', { user_list: [{ openid: follower }] }), { errcode: 40001 });
});

// https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken
// unionid: "只有当scope为snsapi_userinfo时返回"; is_snapshotuser: only for a snapshot-page virtual account.
test('sns/oauth2/access_token: no unionid under snsapi_base, unionid under snsapi_userinfo', async (t) => {
  const { sim, approve, exchange } = await setup(t);
  const openid = await sim.createPersona('授权字段');
  const base = await exchange(await approve(openid, 'snsapi_base'));
  t.deepEqual(Object.keys(base).sort(), ['access_token', 'expires_in', 'openid', 'refresh_token', 'scope']);
  t.like(base, { openid, scope: 'snsapi_base', expires_in: 7200 });
  const userinfo = await exchange(await approve(openid, 'snsapi_userinfo'));
  t.deepEqual(Object.keys(userinfo).sort(), ['access_token', 'expires_in', 'openid', 'refresh_token', 'scope', 'unionid']);
  t.like(userinfo, { openid, scope: 'snsapi_userinfo' });
});

// https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsrefreshtoken
test('sns/oauth2/refresh_token: WeChat’s format, the same refresh_token, and 40013, 40002, 40030', async (t) => {
  const { api, appid, sim, approve, exchange } = await setup(t);
  const openid = await sim.createPersona('刷新');
  const grant = await exchange(await approve(openid, 'snsapi_userinfo'));
  const refresh = (query: string) => api(`/sns/oauth2/refresh_token?${query}`);
  const refreshed = await refresh(`appid=${appid}&grant_type=refresh_token&refresh_token=${grant.refresh_token}`);
  t.deepEqual(Object.keys(refreshed).sort(), ['access_token', 'expires_in', 'openid', 'refresh_token', 'scope']);
  t.like(refreshed, { expires_in: 7200, refresh_token: grant.refresh_token, openid, scope: 'snsapi_userinfo' });
  t.not(refreshed.access_token, grant.access_token);
  t.like(await api(`/sns/userinfo?access_token=${refreshed.access_token}&openid=${openid}`), { openid, nickname: '刷新' });

  t.like(await refresh(`appid=wxnobody&grant_type=refresh_token&refresh_token=${grant.refresh_token}`), { errcode: 40013 });
  t.like(await refresh(`appid=${appid}&grant_type=authorization_code&refresh_token=${grant.refresh_token}`), { errcode: 40002 });
  t.like(await refresh(`appid=${appid}&grant_type=refresh_token&refresh_token=nope`), { errcode: 40030 });
  t.like(await refresh(`appid=${appid}&grant_type=refresh_token`), { errcode: 40030 });
});

test('a refresh_token expires 30 days after the authorization (42002), refreshing does not extend it', async (t) => {
  const server = await startServer(t);
  let clock = Date.UTC(2026, 0, 1);
  const state = createSimulatorState({ config: server.config, now: () => clock });
  const persona = state.createPersona('三十天');
  const { refreshToken } = state.issueSnsTokens(state.snsGrantOf(persona, 'snsapi_base', false), state.officialAccountAppId);
  clock += 29 * 86_400_000;
  t.like(state.checkRefreshToken(refreshToken, state.officialAccountAppId), { openid: persona.openid });
  t.like(state.checkRefreshToken(refreshToken, 'wxother'), { errcode: 40030 });
  clock += 86_400_000;
  t.like(state.checkRefreshToken(refreshToken, state.officialAccountAppId), { errcode: 42002, errmsg: 'refresh_token expired' });
});

// Snapshot-page mode (网页快照页, 2022-07-12): "开发者在快照页内所获取的头像、昵称、openId、unionId 均为虚拟账号数据".
test('a persona in snapshot mode authorizes snsapi_userinfo as a virtual account with is_snapshotuser 1', async (t) => {
  const { api, sim, approve, exchange } = await setup(t);
  const openid = await sim.createPersona('快照');
  const real = await exchange(await approve(openid, 'snsapi_userinfo'));
  t.is((await sim.post('/simulator/snapshot', { openid, on: '1' })).status, 303);
  t.regex(await sim.pageOf(openid), /data-snapshot="on"/);
  const snapshot = await exchange(await approve(openid, 'snsapi_userinfo'));
  t.is(snapshot.is_snapshotuser, 1);
  t.not(snapshot.openid, openid);
  t.not(snapshot.unionid, real.unionid);
  t.like(await api(`/sns/userinfo?access_token=${snapshot.access_token}&openid=${snapshot.openid}`), { openid: snapshot.openid, nickname: '微信用户', unionid: snapshot.unionid });
  // snsapi_base is never a snapshot.
  const base = await exchange(await approve(openid, 'snsapi_base'));
  t.is(base.is_snapshotuser, undefined);
  t.is(base.openid, openid);
  await sim.post('/simulator/snapshot', { openid, on: '0' });
  t.is((await exchange(await approve(openid, 'snsapi_userinfo'))).openid, openid);
});
