import { createHmac, randomBytes } from 'node:crypto';
import test from 'ava';
import { wechatTexts } from '../../src/messages/wechat-texts.js';
import { createSceneIssuer } from '../../src/login/scan/scene-issuer.js';
import { deriveKeys } from '../../src/security/keys.js';
import { BrowserClient, sceneOf } from '../helpers/browser-client.js';
import { chatOf, createPersona, desktopChrome, scanInSimulator } from '../helpers/confirm-flow.js';
import { bindPhone, phoneFor, poll } from '../helpers/login-flow.js';
import { startServer, plainScanLogin } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait-until.js';

/** A login page opened by a browser that prefers `language`. */
async function openLoginIn(server: Awaited<ReturnType<typeof startServer>>, language: string) {
  const browser = new BrowserClient(server.url, { 'user-agent': desktopChrome, 'accept-language': language });
  const scene = sceneOf(await (await browser.get('/login')).text());
  return { browser, scene };
}

test('the scanner is answered in the language of the page that showed the code', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const english = await openLoginIn(server, 'en-US,en;q=0.9');
  const chinese = await openLoginIn(server, 'zh-CN,zh;q=0.9');
  t.is((await phoneFor(server).scan('o_en', english.scene, 'ticket', false)).replyText, wechatTexts.en.bindPhone);
  t.is((await phoneFor(server).scan('o_zh', chinese.scene, 'ticket', false)).replyText, wechatTexts.zh.bindPhone);
  // ?lang=en picks English as well, whatever the browser's header says.
  const chosen = new BrowserClient(server.url, { 'accept-language': 'zh-CN' });
  const scene = sceneOf(await (await chosen.get('/login?lang=en')).text());
  t.is((await phoneFor(server).scan('o_chosen', scene, 'ticket', false)).replyText, wechatTexts.en.bindPhone);
  // The same scene scanned again (taken by someone else) is refused in its page's language too.
  t.is((await phoneFor(server).scan('o_other', english.scene, 'SCAN', true)).replyText, wechatTexts.en.sceneInvalid);
});

test('the confirmation request and the login notice follow the English page', async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'off' } });
  const openid = await createPersona(server, 'English reader');
  // A first login to bind the phone, then a second one: the notice is sent after each QR login.
  const first = await openLoginIn(server, 'en');
  await scanInSimulator(server, openid, first.scene);
  t.is((await poll(first.browser, first.scene)).body.status, 'bind');
  t.is((await bindPhone(server, first.browser, '13700137000')).status, 303);
  await waitUntil(async () => (await chatOf(server, openid)).some((bubble) => bubble.startsWith('Your account logged in by QR code')));
  const notice = (await chatOf(server, openid)).find((bubble) => bubble.startsWith('Your account logged in by QR code'))!;
  t.regex(notice, /Chrome 120 · Windows 10/);
  t.regex(notice, /end this login/);
  t.false(/[\u4e00-\u9fff]/.test(notice), 'no Chinese (a loopback address has no region)');

  const confirming = await startServer(t, { env: { LOGIN_CONFIRM: 'always' } });
  const asked = await openLoginIn(confirming, 'en');
  const reply = (await phoneFor(confirming).scan('o_confirm_en', asked.scene, 'ticket', false)).replyText!;
  t.true(reply.startsWith('A browser is asking to log in to your account:'), reply);
  t.regex(reply, /<a href="http:\/\/127\.0\.0\.1:\d+\/login\/confirm\?t=[^"]+">tap here to confirm<\/a>/);
});

test('a scene carries its language under the HMAC; scenes issued before the language was carried still read, as Chinese', (t) => {
  const keys = deriveKeys(['a-scene-key-for-this-test-01']).scene;
  const issuer = createSceneIssuer(keys);
  const expiresAt = Math.ceil((Date.now() + 60_000) / 1000) * 1000;
  const english = issuer.issueScene(expiresAt, 'en');
  t.is(english.length, 42);
  t.deepEqual(issuer.readScene(english), { expiresAt, lang: 'en' });
  t.deepEqual(issuer.readScene(issuer.issueScene(expiresAt)), { expiresAt, lang: 'zh' });
  // Flipping the language byte breaks the HMAC: nobody re-labels a scene.
  const bytes = Buffer.from(english, 'base64url');
  bytes[20] ^= 1;
  t.is(issuer.readScene(bytes.toString('base64url')), undefined);
  // The 40-character form of the previous release: random, expiry and a MAC over those two.
  const expiry = Buffer.alloc(4);
  expiry.writeUInt32BE(expiresAt / 1000, 0);
  const payload = Buffer.concat([randomBytes(16), expiry]);
  const legacy = Buffer.concat([payload, createHmac('sha256', keys[0]).update(payload).digest().subarray(0, 10)]).toString('base64url');
  t.is(legacy.length, 40);
  t.deepEqual(issuer.readScene(legacy), { expiresAt, lang: 'zh' });
});
