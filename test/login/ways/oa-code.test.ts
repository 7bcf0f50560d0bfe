import test from 'ava';
import { CodeTakenError, createLoginSceneQueries } from '../../../src/db/login-scenes.js';
import { wechatTexts } from '../../../src/messages/wechat-texts.js';
import { databaseKinds } from '../../helpers/databases.js';
import { bindPhone, openLoginPage, phoneFor, poll } from '../../helpers/login-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../../helpers/server.js';
import { createTestClock } from '../../helpers/test-clock.js';

/** The code the page shows, and its scene. */
async function openCodePage(server: TestServer) {
  const page = await openLoginPage(server, '/login?method=oa-code');
  const code = page.html.match(/id="login-code" data-code="([^"]+)"/)?.[1];
  if (!code) throw new Error('the page shows no login code');
  return { ...page, code };
}

const historyOf = (server: TestServer, scene: string) => server.knex('user_sessions').where({ scene });

/** Another code of the same shape: its first letter changed to another letter. */
function otherCode(code: string): string {
  const at = code.search(/[A-Z]/);
  return code.slice(0, at) + (code[at] === 'A' ? 'B' : 'A') + code.slice(at + 1);
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: a code sent to the account logs the browser in: the reply names the browser, then bind, then the profile`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const { browser, scene, code, html } = await openCodePage(server);
    t.regex(code, /^[2-9A-HJKMNP-TW-Z]{8}$/);
    t.regex(code, /[2-9]/, 'a digit');
    t.regex(code, /[A-Z]/, 'and a letter: words and order numbers are no code');
    t.regex(html, /id="way-oa-qr" href="\/login\?method=oa-qr"/, 'the other way is a click away');
    t.regex(html, /微信登录演示号/, "the account's name");
    t.regex(html, /data-login-href="\/login\?method=oa-code"/, 'a new code, by the button or the script, is a code again');
    // Spaces, a dash and lower case, as a person types it.
    const sent = `${code.slice(0, 4).toLowerCase()}-${code.slice(4)} `;
    const reply = await phoneFor(server).sendText('o_coder', sent);
    t.is(reply.status, 200);
    t.regex(reply.replyText!, /请回到网页上绑定手机号/);
    t.regex(reply.replyText!, /IP 127\.0\.0\.1/);
    t.true(reply.replyText!.includes(`正在登录 ${new URL(server.url).host}`), 'the reply names the site');
    // Another WeChat user sending the same code meanwhile is told it was used, not logged in.
    t.is((await phoneFor(server).sendText('o_other', code)).replyText, wechatTexts.zh.codeTaken);
    t.deepEqual((await poll(browser, scene)).body, { status: 'bind', redirect: '/bind' });
    t.is((await bindPhone(server, browser, '13800138021')).status, 303);
    const me = await (await browser.get('/api/me')).json();
    t.like(me, { openid: 'o_coder', phone: '13800138021' });
    t.like((await historyOf(server, scene))[0], { method: 'code' });

    // The same code again: used up, and no second login.
    t.is((await phoneFor(server).sendText('o_coder', code)).replyText, wechatTexts.zh.codeUnknown);
    t.is((await historyOf(server, scene)).length, 1);
  });

  declare(`${kind}: wrong codes sent in parallel by one WeChat user: ten are looked up, the rest refused, and then the right code too`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const { scene, code } = await openCodePage(server);
    const wrong = otherCode(code);
    const replies = await Promise.all(Array.from({ length: 25 }, () => phoneFor(server).sendText('o_guesser', wrong)));
    t.is(replies.filter((reply) => reply.replyText === wechatTexts.zh.codeUnknown).length, 10);
    t.is(replies.filter((reply) => reply.replyText === wechatTexts.zh.codeTooMany).length, 15);
    t.is((await phoneFor(server).sendText('o_guesser', code)).replyText, wechatTexts.zh.codeTooMany);
    t.like(await server.knex('login_scenes').where({ scene }).first(), { state: 'issued', scanner_openid: null });
    // Another WeChat user is not slowed down by the guesser.
    t.regex((await phoneFor(server).sendText('o_owner', code)).replyText!, /请回到网页上绑定手机号/);
  });
}

test('a code is bound to its browser session: another browser cannot poll its scene, and a code dies with its scene', async (t) => {
  const clock = createTestClock();
  const server = await startServer(t, { env: { ...plainScanLogin, QR_EXPIRE_SECONDS: '60' }, clock: clock.now });
  const victim = await openCodePage(server);
  const other = await openLoginPage(server, '/login?method=oa-code');
  t.is((await poll(other.browser, victim.scene)).status, 403);

  const late = await openCodePage(server);
  clock.advance(61_000);
  t.is((await phoneFor(server).sendText('o_late', late.code)).replyText, wechatTexts.zh.codeUnknown);
  t.is(await server.knex('users').where({ openid: 'o_late' }).first(), undefined);
});

test('a message that is not a code gets no reply of ours; a code-shaped one that names no login says so', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const hello = await phoneFor(server).sendText('o_chat', '你好，请问营业时间？');
  t.is(hello.status, 200);
  t.is(hello.body, 'success');
  for (const keyword of ['cheapest', '88886666', 'ＡＢＣＤ']) t.is((await phoneFor(server).sendText('o_chat', keyword)).body, 'success', keyword);
  t.is((await phoneFor(server).sendText('o_chat', 'ABCD EFG2')).replyText, wechatTexts.zh.codeUnknown);
});

test('an English page gets the reply in English', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const page = await openLoginPage(server, '/login?method=oa-code&lang=en');
  const code = page.html.match(/data-code="([^"]+)"/)![1];
  t.regex(page.html, /send it this login code/);
  t.regex((await phoneFor(server).sendText('o_en', code)).replyText!, /Go back to the web page and bind your phone number/);
  // Full-width forms and a Unicode dash, as some keyboards send them, are the same code.
  const wide = await openLoginPage(server, '/login?method=oa-code&lang=en');
  const wideCode = wide.html.match(/data-code="([^"]+)"/)![1];
  const typed = `${wideCode.slice(0, 4)}‐${wideCode.slice(4)}`.replace(/[A-Z0-9]/g, (letter) => String.fromCharCode(letter.charCodeAt(0) + 0xfee0));
  t.regex((await phoneFor(server).sendText('o_wide', typed)).replyText!, /logging in to/);
});

test('SIMULATOR_ACCOUNT=subscription: WeChat refuses QR codes (48001), so the page shows the code, said once in the log; the login works without the notice', async (t) => {
  const clock = createTestClock();
  const server = await startServer(t, { env: { SIMULATOR_ACCOUNT: 'subscription', LOGIN_CONFIRM: 'off' }, clock: clock.now });
  const first = await openLoginPage(server);
  t.regex(first.html, /id="login-code"/, 'the QR way fell back to the code');
  const second = await openLoginPage(server);
  t.regex(second.html, /id="login-code"/);
  t.is(server.logs.filter((line) => /48001/.test(line.message)).length, 1, 'said once');
  const code = first.html.match(/data-code="([^"]+)"/)![1];
  await phoneFor(server).sendText('o_sub', code);
  await poll(first.browser, first.scene);
  t.is((await bindPhone(server, first.browser, '13800138022')).status, 303);
  t.is((await first.browser.get('/api/me')).status, 200);
  // Ten minutes on, a QR code is asked for again (an account verified meanwhile gets them back); still refused here.
  clock.advance(11 * 60_000);
  t.regex((await openLoginPage(server)).html, /id="login-code"/);
  t.is(server.logs.filter((line) => /48001/.test(line.message)).length, 2);
});

test('a code another scene holds (kept a day after it expired) is drawn again, never shared; the same scene recorded twice is one row', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const scenes = createLoginSceneQueries(server.knex);
  const row = (scene: string) => ({ scene, deviceHash: 'd'.repeat(64), userAgent: 'ua', ip: '127.0.0.1', createdAt: Date.now(), expiresAt: Date.now() + 60_000, ownerHash: null, way: 'oa-code', codeHash: 'c'.repeat(64) });
  await scenes.insertScene(row('scene-one'));
  await scenes.insertScene(row('scene-one'));
  await t.throwsAsync(scenes.insertScene(row('scene-two')), { instanceOf: CodeTakenError });
  t.is((await server.knex('login_scenes').where({ code_hash: 'c'.repeat(64) })).length, 1);
});
