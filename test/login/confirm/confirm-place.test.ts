import test from 'ava';
import { BrowserClient } from '../../helpers/browser-client.js';
import { confirmPathOf, createPersona, desktopChrome, openInWechat, wechatInAppBrowser } from '../../helpers/confirm-flow.js';
import { phoneFor } from '../../helpers/login-flow.js';
import { sceneOf } from '../../helpers/browser-client.js';
import { startServer, type TestServer } from '../../helpers/server.js';

/**
 * Issue 26: the phishing relay of the number. The confirm page compares where
 * the phone is (the in-WeChat browser's IP region) with where the waiting
 * browser is, and warns plainly when they differ; browser and OS are shown
 * as the other side's claims, IP and region as what we see.
 */
const nanjing = '114.114.114.114';
const guangzhou = '183.60.83.19';

async function confirmPageSeenFrom(server: TestServer, browserIp: string, phoneIp: string) {
  const openid = await createPersona(server, `Traveller ${browserIp} ${phoneIp}`);
  const browser = new BrowserClient(server.url, { 'user-agent': desktopChrome, 'x-forwarded-for': browserIp });
  const scene = sceneOf(await (await browser.get('/login')).text());
  const path = confirmPathOf(server, (await phoneFor(server).scan(openid, scene, 'ticket', false)).replyText);
  const phone = new BrowserClient(server.url, { 'user-agent': wechatInAppBrowser, 'x-forwarded-for': phoneIp });
  return openInWechat(server, openid, path, phone);
}

test('the confirm page warns when the waiting browser is in another place than the phone, naming both', async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'always', TRUST_PROXY: '1' } });
  const page = await confirmPageSeenFrom(server, nanjing, guangzhou);
  t.is(page.status, 200);
  const warning = page.html.match(/id="confirm-place-warning">([^<]+)</)?.[1] ?? '';
  t.regex(warning, /这次登录来自中国 江苏省 南京市，而你的手机在中国 广东省 广州市/);
  t.regex(page.html, /浏览器（对方自称）/);
  t.regex(page.html, /IP 地址（本站所见）<\/dt><dd id="confirm-ip">114\.114\.114\.114</);
});

test('no warning when both are in one place, or when a region is unknown (a private or loopback address)', async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'always', TRUST_PROXY: '1' } });
  t.notRegex((await confirmPageSeenFrom(server, nanjing, nanjing)).html, /confirm-place-warning/);
  t.notRegex((await confirmPageSeenFrom(server, '10.0.0.8', guangzhou)).html, /confirm-place-warning/);
});
