import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { wechatTexts } from '../../src/messages/wechat-texts.js';
import { startBusinessServer, startEasyWechatServer, type BusinessMessage } from '../helpers/business-server.js';
import { sampleValue } from '../helpers/metrics-text.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { waitUntil } from '../helpers/wait-until.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { eventXml, postCallback, replyContent, signedQuery } from '../helpers/wechat-push.js';

const businessToken = 'businessToken42';
const businessAesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ourAesKey = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';

/** The business's bot: a welcome, a channel code's reply, and an echo of what people write. */
function businessAnswer(message: BusinessMessage): string {
  if (message.MsgType === 'event' && message.Event === 'subscribe') return '欢迎关注！';
  if (message.MsgType === 'event' && message.Event === 'SCAN') return `渠道 ${message.EventKey}`;
  if (message.MsgType === 'text') return `你说：${message.Content}`;
  return '';
}

const businessSdks = { 'co-wechat': startBusinessServer, 'node-easywechat': startEasyWechatServer } as const;

for (const [sdk, startBusiness] of Object.entries(businessSdks)) {
  for (const safeMode of [false, true]) {
  const mode = safeMode ? 'safe mode' : 'plaintext';

  test(`${sdk}, ${mode}: what is not ours reaches the business's bot as WeChat would send it, and its reply comes back; logins stay ours`, async (t) => {
    const probe = await startServer(t, { env: plainScanLogin });
    const business = await startBusiness(t, { token: businessToken, appid: probe.config.wechat.appId, ...(safeMode ? { encodingAESKey: businessAesKey } : {}) }, businessAnswer);
    const server = await startServer(t, {
      env: {
        ...plainScanLogin,
        WECHAT_FORWARD_URL: business.url,
        WECHAT_FORWARD_TOKEN: businessToken,
        ...(safeMode ? { WECHAT_ENCODING_AES_KEY: ourAesKey, WECHAT_FORWARD_AES_KEY: businessAesKey } : {}),
      },
    });
    const phone = phoneFor(server);

    // A plain follow: recorded by us, answered by the business (re-sealed with our key in safe mode).
    t.is((await phone.follow('o_fan')).replyText, '欢迎关注！');
    // A scan of the business's own channel QR code: theirs.
    t.is((await phone.scan('o_fan', 'channel-42', 'ticket', true)).replyText, '渠道 channel-42');
    // Anything written to the account: theirs.
    t.is((await phone.sendText('o_fan', '营业时间？')).replyText, '你说：营业时间？');
    const forwarded = business.received.length;
    t.is(forwarded, 3);

    // A login scan: ours alone, answered by us.
    const { browser, scene } = await openLoginPage(server);
    t.is((await phone.scan('o_fan', scene, 'ticket', true)).replyText, wechatTexts.zh.bindPhone);
    t.deepEqual((await poll(browser, scene)).body, { status: 'bind', redirect: '/bind' });
    // A live login code: ours alone.
    const codePage = await openLoginPage(server, '/login?method=oa-code');
    const code = codePage.html.match(/data-code="([^"]+)"/)![1];
    t.regex((await phone.sendText('o_coder', code)).replyText!, /正在登录/);
    t.is(business.received.length, forwarded, 'the business saw neither');
    // A follow through a login code: the login is ours and answered by us; the business hears of the follow.
    const newcomer = await openLoginPage(server);
    t.is((await phone.scan('o_newfan', newcomer.scene, 'ticket', false)).replyText, wechatTexts.zh.bindPhone);
    await waitUntil(() => business.received.some((message) => message.FromUserName === 'o_newfan' && message.Event === 'subscribe'));
    t.pass();
  });
  }
}

test('the business server slow, down, failing or answering garbage: WeChat gets success in time, and the login path never waits', async (t) => {
  const slow = await rawServer(t, (response) => setTimeout(() => response.end('<xml>late</xml>'), 2000));
  const failing = await rawServer(t, (response) => response.writeHead(500).end('oops'));
  const garbage = await rawServer(t, (response) => response.end('<xml><Encrypt>not for you</Encrypt></xml>'));
  const huge = await rawServer(t, (response) => response.end(`<xml>${'x'.repeat(200_000)}</xml>`));
  const misaddressed = await rawServer(t, (response) =>
    response.end('<xml><ToUserName><![CDATA[o_someone_else]]></ToUserName><FromUserName><![CDATA[gh_simulator00001]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>'),
  );
  for (const [name, url, outcome] of [
    ['slow', slow, 'timeout'],
    ['down', 'http://127.0.0.1:9/wechat', 'down'],
    ['failing', failing, 'error'],
    ['garbage', garbage, 'garbage'],
    ['huge', huge, 'garbage'],
    ['misaddressed', misaddressed, 'garbage'],
  ] as const) {
    const server = await startServer(t, { env: { ...plainScanLogin, WECHAT_FORWARD_URL: url, WECHAT_FORWARD_TOKEN: businessToken, WECHAT_FORWARD_TIMEOUT_MS: '300' } });
    const started = Date.now();
    const reply = await phoneFor(server).follow(`o_${name}`);
    t.is(reply.status, 200, name);
    t.is(reply.body, 'success', name);
    t.true(Date.now() - started < 1500, `${name}: answered within the forward timeout`);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    t.is(sampleValue(metrics, 'wechat_login_forwarded_pushes_total', { outcome }), 1, name);
  }
});

test('the business server gets a Token and a key of its own, and an address a request can go to', async (t) => {
  const { loadConfig } = await import('../../src/config.js');
  t.throws(() => loadConfig({ WECHAT_TOKEN: 'sameToken1', WECHAT_FORWARD_URL: 'http://bot.example/wechat', WECHAT_FORWARD_TOKEN: 'sameToken1' }), { message: /WECHAT_FORWARD_TOKEN must differ from WECHAT_TOKEN/ });
  t.throws(() => loadConfig({ WECHAT_ENCODING_AES_KEY: ourAesKey, WECHAT_FORWARD_URL: 'http://bot.example/wechat', WECHAT_FORWARD_TOKEN: businessToken, WECHAT_FORWARD_AES_KEY: ourAesKey }), { message: /WECHAT_FORWARD_AES_KEY must differ/ });
  t.throws(() => loadConfig({ WECHAT_FORWARD_URL: 'http://bot.example:99999/wechat', WECHAT_FORWARD_TOKEN: businessToken }), { message: /WECHAT_FORWARD_URL must be an address a request can go to/ });
});

test('a retried delivery reaches the business once', async (t) => {
  const probe = await startServer(t, { env: plainScanLogin });
  const business = await startBusinessServer(t, { token: businessToken, appid: probe.config.wechat.appId }, businessAnswer);
  const server = await startServer(t, { env: { ...plainScanLogin, WECHAT_FORWARD_URL: business.url, WECHAT_FORWARD_TOKEN: businessToken } });
  const query = signedQuery({ token: server.config.wechat.token, nonce: 'retry-nonce', extra: { openid: 'o_retry' } });
  const body = eventXml({ openid: 'o_retry', event: 'SCAN', eventKey: 'channel-7' });
  const first = await postCallback(server.url, query, body);
  const retry = await postCallback(server.url, query, body);
  t.is(replyContent(first.text), '渠道 channel-7');
  t.is(replyContent(retry.text), '渠道 channel-7', 'the same reply');
  t.is(business.received.length, 1);
});

async function rawServer(t: { teardown(fn: () => unknown): void }, answer: (response: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer((request, response) => {
    request.resume();
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat`;
}
