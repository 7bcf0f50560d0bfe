import test from 'ava';
import { createSceneIssuer } from '../../../src/login/scan/scene-issuer.js';
import { recordedScene } from '../../helpers/recorded-scene.js';
import { wechatTexts } from '../../../src/messages/wechat-texts.js';
import { aesKeyFromEncodingAesKey, decryptMessage, encryptMessage } from '../../../src/wechat/message-crypto.js';
import { computeSignature } from '../../../src/wechat/signature.js';
import { startServer, plainScanLogin } from '../../helpers/server.js';
import { eventXml, postCallback, replyContent, signedQuery, testToken } from '../../helpers/wechat-push.js';

const aesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

async function setup(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const server = await startServer(t, { env: { ...plainScanLogin, ...env } });
  return { server, liveScene: () => recordedScene(server) };
}

const userCount = async (server: Awaited<ReturnType<typeof startServer>>) => Number((await server.knex('users').count({ n: '*' }).first())!.n);

test('GET with a valid signature echoes echostr as text/plain', async (t) => {
  const { server } = await setup(t);
  const query = signedQuery({ extra: { echostr: '5837397520214598843' } });
  const response = await fetch(`${server.url}/wechat/callback?${query}`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type')!, /^text\/plain/);
  t.is(await response.text(), '5837397520214598843');
});

test('GET with a forged signature, a missing one, or a stale timestamp gets 401', async (t) => {
  const { server } = await setup(t);
  const forged = signedQuery({ token: 'not-the-token', extra: { echostr: 'x' } });
  t.is((await fetch(`${server.url}/wechat/callback?${forged}`)).status, 401);
  t.is((await fetch(`${server.url}/wechat/callback?echostr=x`)).status, 401);
  const stale = signedQuery({ timestamp: Math.floor(Date.now() / 1000) - 301, extra: { echostr: 'x' } });
  const response = await fetch(`${server.url}/wechat/callback?${stale}`);
  t.is(response.status, 401);
  t.not(await response.text(), 'x');
});

test('a signed scan of a live scene records the user and replies with text, To and From swapped', async (t) => {
  const { server, liveScene } = await setup(t);
  const scene = await liveScene();
  const response = await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_scan', event: 'subscribe', eventKey: `qrscene_${scene}`, ticket: 'T' }));
  t.is(response.status, 200);
  t.regex(response.type!, /xml/);
  t.is(replyContent(response.text), wechatTexts.zh.bindPhone);
  t.regex(response.text, /<ToUserName><!\[CDATA\[o_scan\]\]><\/ToUserName><FromUserName><!\[CDATA\[gh_simulator00001\]\]>/);
  const user = await server.knex('users').where({ openid: 'o_scan' }).first();
  t.is(user.tmp_scene_str, scene);
});

test('POST with a forged signature or a stale timestamp gets 401 and changes nothing', async (t) => {
  const { server, liveScene } = await setup(t);
  const body = eventXml({ openid: 'o_forged', event: 'SCAN', eventKey: await liveScene() });
  t.is((await postCallback(server.url, signedQuery({ token: 'guess' }), body)).status, 401);
  t.is((await postCallback(server.url, signedQuery({ timestamp: Math.floor(Date.now() / 1000) - 3600 }), body)).status, 401);
  t.is((await postCallback(server.url, new URLSearchParams(), body)).status, 401);
  t.is(await userCount(server), 0);
});

test('a push addressed to another account gets 400 wrong_account and changes nothing', async (t) => {
  const { server, liveScene } = await setup(t);
  const response = await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_elsewhere', event: 'SCAN', eventKey: await liveScene(), toUser: 'gh_someoneelse01' }));
  t.is(response.status, 400);
  t.is(response.text, 'wrong_account');
  t.is(await userCount(server), 0);
});

test('malformed XML, an empty body, missing fields and invalid UTF-8 get 400', async (t) => {
  const { server } = await setup(t);
  for (const body of ['<xml><ToUserName>', '', 'not xml at all', '<xml><MsgType>event</MsgType></xml>', Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e])]) {
    const response = await postCallback(server.url, signedQuery(), body);
    t.is(response.status, 400, `body ${String(body).slice(0, 20)}`);
    t.notRegex(response.text, /Error|at /);
  }
  t.is(await userCount(server), 0);
});

test('a 70 KB body gets 400', async (t) => {
  const { server } = await setup(t);
  const body = eventXml({ openid: 'o_big', event: 'SCAN', eventKey: 'x'.repeat(70 * 1024) });
  t.is((await postCallback(server.url, signedQuery(), body)).status, 400);
});

test('billion laughs and external entities are refused, and the server still answers', async (t) => {
  const { server } = await setup(t);
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
    '<xml><ToUserName>&lol3;</ToUserName></xml>';
  const external = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>&xxe;</ToUserName></xml>';
  t.is((await postCallback(server.url, signedQuery(), laughs)).status, 400);
  const xxe = await postCallback(server.url, signedQuery(), external);
  t.is(xxe.status, 400);
  t.notRegex(xxe.text, /root:/);
  const health = await fetch(`${server.url}/healthz`);
  t.deepEqual(await health.json(), { status: 'ok' });
});

test('events we do not act on are acknowledged with success', async (t) => {
  const { server } = await setup(t);
  const response = await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_loc', event: 'LOCATION' }));
  t.is(response.status, 200);
  t.is(response.text, 'success');
});

test('a forged or expired scene gets "二维码已失效" and changes nothing', async (t) => {
  const { server } = await setup(t);
  const forged = await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_x', event: 'SCAN', eventKey: 'A'.repeat(40) }));
  t.is(replyContent(forged.text), wechatTexts.zh.sceneInvalid);
  const expired = createSceneIssuer(server.config.keys.scene).issueScene(Date.now() - 1000);
  const late = await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_x', event: 'SCAN', eventKey: expired }));
  t.is(replyContent(late.text), wechatTexts.zh.sceneInvalid);
  t.is(await userCount(server), 0);
});

test('the same delivery three times, concurrently, has one effect and the same reply', async (t) => {
  const { server, liveScene } = await setup(t);
  const scene = await liveScene();
  const body = eventXml({ openid: 'o_dup', event: 'subscribe', eventKey: `qrscene_${scene}`, createTime: 1_763_000_000 });
  const replies = await Promise.all([1, 2, 3].map(() => postCallback(server.url, signedQuery(), body)));
  t.deepEqual(replies.map((reply) => reply.status), [200, 200, 200]);
  t.is(new Set(replies.map((reply) => replyContent(reply.text))).size, 1);
  t.is(await userCount(server), 1);
});

test('safe mode: an encrypted push is decrypted, checked and answered encrypted', async (t) => {
  const { server, liveScene } = await setup(t, { WECHAT_ENCODING_AES_KEY: aesKey });
  const key = aesKeyFromEncodingAesKey(aesKey);
  const scene = await liveScene();
  const inner = eventXml({ openid: 'o_aes', event: 'SCAN', eventKey: scene });
  const encrypt = encryptMessage(key, inner, server.config.wechat.appId);
  const query = signedQuery({ extra: { encrypt_type: 'aes' } });
  query.set('msg_signature', computeSignature([testToken, query.get('timestamp')!, query.get('nonce')!, encrypt]));
  const response = await postCallback(server.url, query, `<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`);
  t.is(response.status, 200);
  const replyEncrypt = response.text.match(/<Encrypt><!\[CDATA\[([^\]]+)\]\]><\/Encrypt>/)![1];
  const timestamp = response.text.match(/<TimeStamp>(\d+)<\/TimeStamp>/)![1];
  const nonce = response.text.match(/<Nonce><!\[CDATA\[([^\]]+)\]\]><\/Nonce>/)![1];
  const msgSignature = response.text.match(/<MsgSignature><!\[CDATA\[([^\]]+)\]\]><\/MsgSignature>/)![1];
  t.is(msgSignature, computeSignature([testToken, timestamp, nonce, replyEncrypt]));
  const decrypted = decryptMessage(key, replyEncrypt);
  t.is(decrypted.appId, server.config.wechat.appId);
  t.is(replyContent(decrypted.message), wechatTexts.zh.bindPhone);
  t.is((await server.knex('users').where({ openid: 'o_aes' }).first()).tmp_scene_str, scene);
});

test('safe mode: a wrong msg_signature is 401; a wrong key, a wrong appid or a truncated Encrypt is 400', async (t) => {
  const { server, liveScene } = await setup(t, { WECHAT_ENCODING_AES_KEY: aesKey });
  const inner = eventXml({ openid: 'o_bad', event: 'SCAN', eventKey: await liveScene() });
  const send = (encrypt: string, msgSignature?: string) => {
    const query = signedQuery({ extra: { encrypt_type: 'aes' } });
    query.set('msg_signature', msgSignature ?? computeSignature([testToken, query.get('timestamp')!, query.get('nonce')!, encrypt]));
    return postCallback(server.url, query, `<xml><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`);
  };
  const good = encryptMessage(aesKeyFromEncodingAesKey(aesKey), inner, server.config.wechat.appId);
  t.is((await send(good, 'f'.repeat(40))).status, 401);
  const otherKey = encryptMessage(aesKeyFromEncodingAesKey('ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg'), inner, server.config.wechat.appId);
  t.is((await send(otherKey)).status, 400);
  const otherApp = encryptMessage(aesKeyFromEncodingAesKey(aesKey), inner, 'wx_someone_else');
  t.is((await send(otherApp)).status, 400);
  t.is((await send(good.slice(0, 44))).status, 400);
  t.is(await userCount(server), 0);
});

test('safe mode: the previous key still works while keys rotate', async (t) => {
  const newKey = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg';
  const { server, liveScene } = await setup(t, { WECHAT_ENCODING_AES_KEY: newKey, WECHAT_ENCODING_AES_KEY_PREVIOUS: aesKey });
  const inner = eventXml({ openid: 'o_rot', event: 'SCAN', eventKey: await liveScene() });
  const encrypt = encryptMessage(aesKeyFromEncodingAesKey(aesKey), inner, server.config.wechat.appId);
  const query = signedQuery({ extra: { encrypt_type: 'aes' } });
  query.set('msg_signature', computeSignature([testToken, query.get('timestamp')!, query.get('nonce')!, encrypt]));
  const response = await postCallback(server.url, query, `<xml><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`);
  t.is(response.status, 200);
  // The reply is sealed with the key the push came with.
  const replyEncrypt = response.text.match(/<Encrypt><!\[CDATA\[([^\]]+)\]\]><\/Encrypt>/)![1];
  t.is(replyContent(decryptMessage(aesKeyFromEncodingAesKey(aesKey), replyEncrypt).message), wechatTexts.zh.bindPhone);
});

test('unknown errors are a plain 500 with nothing internal, and are logged', async (t) => {
  const { server, liveScene } = await setup(t);
  await server.knex.schema.dropTable('users');
  const response = await postCallback(server.url, signedQuery(), eventXml({ openid: 'o_500', event: 'SCAN', eventKey: await liveScene() }));
  t.is(response.status, 500);
  t.is(response.text, 'internal');
  t.true(server.logs.some((log) => log.level === 'error' && log.message === 'request failed'));
});

test('the callback runs without the cookie session: a broken session cookie is neither read nor answered with Set-Cookie', async (t) => {
  const { server, liveScene } = await setup(t);
  const query = signedQuery();
  const response = await fetch(`${server.url}/wechat/callback?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml', cookie: 'wl.sid=eyJ4IjoxfQ==; wl.sid.sig=forged' },
    body: eventXml({ openid: 'o_cookie', event: 'SCAN', eventKey: await liveScene() }),
  });
  t.is(response.status, 200);
  t.is(replyContent(await response.text()), wechatTexts.zh.bindPhone);
  t.is(response.headers.get('set-cookie'), null);
  // A page still gets its session.
  t.regex((await fetch(`${server.url}/login`)).headers.get('set-cookie') ?? '', /wl\.sid=/);
});

test('a follower we never saw (SCAN) and a known user following again (subscribe) each stay one user', async (t) => {
  const { server, liveScene } = await setup(t);
  const scan = (openid: string, event: string, scene: string) =>
    postCallback(server.url, signedQuery(), eventXml({ openid, event, eventKey: event === 'subscribe' ? `qrscene_${scene}` : scene }));
  t.is(replyContent((await scan('o_old_follower', 'SCAN', await liveScene())).text), wechatTexts.zh.bindPhone);
  const again = await liveScene();
  t.is(replyContent((await scan('o_old_follower', 'subscribe', again)).text), wechatTexts.zh.bindPhone);
  t.is(await userCount(server), 1);
  t.is((await server.knex('users').where({ openid: 'o_old_follower' }).first()).tmp_scene_str, again);
});
