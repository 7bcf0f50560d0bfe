import { type Browser, type Page } from 'playwright-core';
import { assertAccessible } from '../helpers/accessibility.js';
import { browserTest, shareChromiumAndServer } from '../helpers/chromium.js';
import { latestCode, logInNewUser, phoneFor } from '../helpers/login-flow.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, type TestServer } from '../helpers/server.js';

// Issue 24, the bind page: the resend countdown, the tries left, and a number that is another WeChat account's.

let browser: Browser;
let server: TestServer;

shareChromiumAndServer({ env: { ...plainScanLogin, SMS_RESEND_INTERVAL_SECONDS: '60', LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

/** A browser that scanned as `openid` (no phone yet) and is on the bind page. */
async function onBindPage(openid: string, locale: string, width: number): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width, height: 844 }, isMobile: width < 500, bypassCSP: true });
  const page = await context.newPage();
  // The resend countdown runs on this clock.
  await page.clock.install();
  await page.goto(`${server.url}/login`);
  const scene = (await page.locator('#qr').getAttribute('data-scene'))!;
  await phoneFor(server).scan(openid, scene, 'ticket', false);
  await page.waitForURL('**/bind', { timeout: 10_000 });
  return page;
}

browserTest('after a code is sent, the send button counts down to the next one; a wrong code says the tries left', async (t) => {
  const page = await onBindPage('o_bind_countdown', 'zh-CN', 390);
  t.teardown(() => page.context().close());
  const problems = watchPageProblems(page);
  problems.expect(422, '/bind');
  const button = page.locator('#send-code');
  t.is(await button.textContent(), '获取验证码');
  await assertAccessible(page, 'bind (zh)');

  await page.fill('#phone-send', '13600000001');
  await button.click();
  await page.waitForSelector('#code');
  t.true(await button.isDisabled());
  t.is(await button.textContent(), '重新获取（60 秒）');
  t.true(await page.locator('#resend-hint').isHidden(), 'the button says it: the sentence is for pages without the script');
  await assertAccessible(page, 'bind, code sent (zh)');
  await page.clock.runFor(30_000);
  t.is(await button.textContent(), '重新获取（30 秒）');
  // Another number may have its code at once; back to the first, the wait is back.
  await page.fill('#phone-send', '13600000002');
  t.true(await button.isEnabled());
  t.is(await button.textContent(), '重新获取验证码');
  await page.fill('#phone-send', '136 0000 0001');
  t.true(await button.isDisabled());
  await page.clock.runFor(31_000);
  t.true(await button.isEnabled());
  t.is(await button.textContent(), '重新获取验证码');

  const code = latestCode(server, '13600000001');
  await page.fill('#phone-send', '13600000001');
  await page.fill('#code', code === '000000' ? '111111' : '000000');
  await page.click('#bind-submit');
  await page.waitForSelector('#bind-error');
  t.is(await page.locator('#bind-error').textContent(), '验证码错误，还可以再试 4 次。');
  // The page after the wrong code counts on from what the server knows is left (its clock is real; only the browser's was advanced).
  t.regex((await button.textContent())!, /^重新获取（\d+ 秒）$/);
  await assertAccessible(page, 'bind, wrong code (zh)');

  await page.fill('#code', code);
  await page.click('#bind-submit');
  await page.waitForURL('**/profile');
  problems.assertClean('bind with the countdown');
});

browserTest('a number bound to another WeChat account says what to do, with a way back to the form and one to the login', async (t) => {
  await logInNewUser(server, 'o_bind_holder', '13600000003');
  // The holder's code blocked the number for a minute; this test is about what comes after the code.
  await server.knex('sms_send_slots').update({ blocked_until: new Date(0) });
  for (const [locale, width] of [['en-US', 1280], ['zh-CN', 390]] as const) {
    const page = await onBindPage(`o_bind_taker_${locale}`, locale, width);
    t.teardown(() => page.context().close());
    const problems = watchPageProblems(page);
    problems.expect(409, '/bind');
    await page.fill('#phone-send', '13600000003');
    await page.click('#send-code');
    await page.waitForSelector('#code');
    const code = server.handle.smsInbox.list().find((sms) => sms.phone === '13600000003')!.code;
    await page.fill('#code', code);
    await page.click('#bind-submit');
    await page.locator('#phone-taken').waitFor();
    t.regex((await page.locator('#phone-taken').textContent())!, locale === 'en-US' ? /another WeChat account[\s\S]*log in by scanning with the WeChat account it is bound to/ : /已绑定其他微信账号[\s\S]*请用绑定它的那个微信账号扫码登录/);
    t.is(await page.locator('#code').count(), 0);
    t.deepEqual(await page.locator('main a').evaluateAll((links) => links.map((link) => link.getAttribute('href'))), ['/login', '/bind']);
    await assertAccessible(page, `bind, number taken (${locale}, ${width})`);
    await page.click('#taken-other-number');
    await page.waitForURL('**/bind');
    t.is(await page.inputValue('#phone-send'), '');
    await server.knex('sms_send_slots').update({ blocked_until: new Date(0) });
    problems.assertClean(`number taken (${locale})`);
  }
});
