import test from 'ava';
import { openLoginPage, poll } from '../helpers/login-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { openSimulator } from '../helpers/simulator-phone.js';

test('SIMULATOR_ACCOUNT=subscription refuses what WeChat refuses an unverified subscription account', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, SIMULATOR_ACCOUNT: 'subscription' } });
  const api = `${server.url}/simulator/api`;
  const { appId: appid, appSecret: secret } = server.config.wechat;
  const { access_token: token } = await (await fetch(`${api}/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`)).json();
  const post = (path: string, body: unknown) =>
    fetch(`${api}${path}?access_token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((answer) => answer.json());
  t.deepEqual(await post('/cgi-bin/qrcode/create', { expire_seconds: 300, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'x' } } }), {
    errcode: 48001,
    errmsg: 'api unauthorized',
  });
  t.deepEqual(await post('/cgi-bin/message/custom/send', { touser: 'o_x', msgtype: 'text', text: { content: 'hi' } }), { errcode: 48001, errmsg: 'api unauthorized' });
  const authorize = await fetch(
    `${api}/connect/oauth2/authorize?appid=${appid}&redirect_uri=${encodeURIComponent(`${server.url}/auth/wechat/callback`)}&response_type=code&scope=snsapi_base&state=s`,
  );
  t.is(authorize.status, 400);
  t.regex(await authorize.text(), /10005/);
});

test('a follower sends the login code from the simulator phone: the chat shows the reply, and the browser is logged in', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const sim = await openSimulator(server);
  const openid = await sim.createPersona('Coder');
  const page = await openLoginPage(server, '/login?method=oa-code');
  const code = page.html.match(/data-code="([^"]+)"/)![1];
  t.notRegex(await sim.pageOf(openid), /action="\/simulator\/message"/, 'only a follower may write to the account');
  t.is((await sim.post('/simulator/message', { openid, content: code })).status, 422);
  await sim.post('/simulator/follow', { openid });
  t.regex(await sim.pageOf(openid), /action="\/simulator\/message"/);
  t.is((await sim.post('/simulator/message', { openid, content: code })).status, 303);
  const chat = await sim.pageOf(openid);
  t.true(chat.includes(code), 'the message is in the chat');
  t.regex(chat, /请回到网页上绑定手机号/);
  t.deepEqual((await poll(page.browser, page.scene)).body, { status: 'bind', redirect: '/bind' });
});
