import { bindOnDesk } from '../helpers/browser-flow.js';
import { browserTest, shareChromiumAndServer } from '../helpers/chromium.js';
import { type Browser, type Page } from 'playwright-core';
import { watchPageProblems } from '../helpers/page-problems.js';
import { startServer, type TestServer, plainScanLogin } from '../helpers/server.js';

let browser: Browser;
let server: TestServer;

shareChromiumAndServer({ env: { ...plainScanLogin, LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

/** The desktop browser showing the login page, and a phone-sized one on the simulator. */
async function openWindows(locale = 'zh-CN') {
  const desk = await (await browser.newContext({ locale, viewport: { width: 1280, height: 800 } })).newPage();
  const phone = await (await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
  const deskProblems = watchPageProblems(desk);
  const phoneProblems = watchPageProblems(phone);
  /** Fails on any console error, uncaught exception or failed request either window saw. */
  const assertCleanConsoles = () => {
    deskProblems.assertClean('desktop window');
    phoneProblems.assertClean('phone window');
  };
  return { desk, phone, assertCleanConsoles };
}

async function scanOnPhone(phone: Page, nickname: string, scene: string) {
  await phone.goto(`${server.url}/simulator`);
  const header = phone.locator('#persona h2');
  const current = (await header.count()) > 0 ? await header.textContent() : null;
  if (current !== nickname) {
    const existing = phone.locator('.personas a', { hasText: nickname });
    if (await existing.count()) await existing.click();
    else {
      await phone.fill('input[name=nickname]', nickname);
      await phone.locator('form[action="/simulator/personas"] button').click();
    }
  }
  await phone.locator(`li[data-scene="${scene}"] button.scan`).click();
}

browserTest('a new user scans on the phone, binds a phone and lands on the profile; returning, they are in at once', async (t) => {
  const { desk, phone, assertCleanConsoles } = await openWindows();
  await desk.goto(`${server.url}/login`);
  t.is(await desk.locator('h1').textContent(), '微信扫码登录');
  t.true(await desk.locator('#qr svg').isVisible());
  const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;
  t.regex((await desk.locator('#qr').getAttribute('data-expires-at'))!, /Z$/);
  await desk.waitForFunction(() => document.getElementById('status')?.textContent === '等待扫码…');

  await scanOnPhone(phone, '小明', scene);
  await desk.waitForURL('**/bind', { timeout: 10_000 });
  t.true((await phone.locator('.chat').textContent())!.includes('请回到网页上绑定手机号'));

  await bindOnDesk(desk, phone, server.url, '13800138000');
  await desk.waitForURL('**/profile');
  t.is(await desk.locator('#phone').textContent(), '138****8000');

  // Returning: log out, open the login page, scan again: the page moves on by itself.
  await desk.click('form[action="/logout"] button');
  await desk.waitForURL('**/login');
  const again = (await desk.locator('#qr').getAttribute('data-scene'))!;
  const started = Date.now();
  await scanOnPhone(phone, '小明', again);
  await desk.waitForURL('**/profile', { timeout: 10_000 });
  t.log(`returning user: scan to profile in ${Date.now() - started} ms (includes the phone page's own navigation)`);
  t.true((await phone.locator('.chat').textContent())!.includes('登录成功'));
  t.is(await desk.locator('.logins li').count(), 2);
  assertCleanConsoles();
});

browserTest('the page renews an expired code by itself, and English is available', async (t) => {
  const shortLived = await startServer(t, { env: { ...plainScanLogin, QR_EXPIRE_SECONDS: '2' } });
  const desk = await (await browser.newContext({ locale: 'en-US' })).newPage();
  const problems = watchPageProblems(desk);
  await desk.goto(`${shortLived.url}/login`);
  t.is(await desk.locator('h1').textContent(), 'Log in with WeChat');
  const first = await desk.locator('#qr').getAttribute('data-scene');
  await desk.waitForFunction((old) => document.getElementById('qr')?.getAttribute('data-scene') !== old, first, { timeout: 10_000 });
  t.not(await desk.locator('#qr').getAttribute('data-scene'), first);
  problems.assertClean('login page renewing its code');
});
