import { browserTest, shareChromiumAndServer } from '../helpers/chromium.js';
import { type Browser, type Page } from 'playwright-core';
import { assertAccessible } from '../helpers/accessibility.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, type TestServer } from '../helpers/server.js';

// The simulator's phone page keeps itself current: what happens in other
// windows (a login page opened, a scan, an SMS sent) shows up without a reload.

let browser: Browser;
let server: TestServer;

shareChromiumAndServer({ env: { ...plainScanLogin, LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

/** Counts the page's own navigations from now on, and marks the document so that a reload would show. */
async function watchForReloads(page: Page) {
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  await page.evaluate(() => {
    (window as unknown as { sameDocument: boolean }).sameDocument = true;
  });
  return {
    async assertNoReload() {
      const same = await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument === true);
      if (navigations > 0 || !same) throw new Error(`the simulator page was reloaded (${navigations} navigation(s))`);
    },
  };
}

browserTest('the simulator shows a waiting code, a scan\'s chat bubble and an SMS code without a reload', async (t) => {
  // The simulator first, on a phone-sized screen, with a user.
  const simulatorContext = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, bypassCSP: true });
  t.teardown(() => simulatorContext.close());
  const simulator = await simulatorContext.newPage();
  const simulatorProblems = watchPageProblems(simulator);
  await simulator.goto(`${server.url}/simulator`);
  await simulator.fill('input[name=nickname]', '小红');
  await simulator.locator('form[action="/simulator/personas"] button').click();
  await simulator.waitForSelector('#persona');
  const openid = (await simulator.locator('#persona').getAttribute('data-openid'))!;
  const reloads = await watchForReloads(simulator);
  // Something half-typed survives the updates.
  await simulator.fill('input[name=nickname]', 'draft');

  // Then the login page, in another browser.
  const siteContext = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
  t.teardown(() => siteContext.close());
  const site = await siteContext.newPage();
  const siteProblems = watchPageProblems(site);
  await site.goto(`${server.url}/login`);
  const scene = (await site.locator('#qr').getAttribute('data-scene'))!;

  const waiting = simulator.locator(`li[data-scene="${scene}"]`);
  await waiting.waitFor({ timeout: 10_000 });
  // A keyboard user on a button keeps their focus through the next update.
  await simulator.locator('form[action="/simulator/codes"] button').first().focus();
  const followLabel = await simulator.evaluate(() => document.activeElement?.textContent);
  t.is(await simulator.locator('#simulator-news').textContent(), '有新的二维码等待扫描');
  const ticket = (await waiting.locator('input[name=ticket]').getAttribute('value'))!;

  // A scan from elsewhere (the landing page a real phone opens): the chat bubble appears, the code leaves the list.
  const scanner = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  t.teardown(() => scanner.context().close());
  await scanner.goto(`${server.url}/simulator/scan?ticket=${encodeURIComponent(ticket)}`);
  await scanner.getByRole('button', { name: '小红' }).click();
  // The login page was English, so the reply in WeChat is too.
  await simulator.locator('.chat .bubble.account', { hasText: 'bind your phone number' }).waitFor({ timeout: 10_000 });
  t.is(await simulator.locator(`li[data-scene="${scene}"]`).count(), 0);
  t.regex((await simulator.locator('#simulator-news').textContent())!, /公众号有新消息/);
  t.is(await simulator.evaluate(() => document.activeElement?.textContent), followLabel);

  // The site asks for a phone; the SMS shows up on the simulator, and its code works.
  await site.waitForURL('**/bind', { timeout: 10_000 });
  await site.fill('#phone-send', '13800138555');
  await site.click('#send-code');
  await site.waitForSelector('#code');
  const smsCode = simulator.locator('.sms-code');
  await smsCode.first().waitFor({ timeout: 10_000 });
  t.regex((await simulator.locator('#simulator-news').textContent())!, /收到新短信/);
  await site.fill('#code', (await smsCode.first().textContent())!);
  await site.click('#bind-submit');
  await site.waitForURL('**/profile');

  await reloads.assertNoReload();
  t.is(await simulator.inputValue('input[name=nickname]'), 'draft');
  t.is(await simulator.locator('#persona').getAttribute('data-openid'), openid);
  await assertAccessible(simulator, 'simulator after live updates');
  simulatorProblems.assertClean('simulator');
  siteProblems.assertClean('login, bind and profile');
});

browserTest('without JavaScript the simulator still works: a reload shows the waiting code, and scanning works', async (t) => {
  const context = await browser.newContext({ locale: 'zh-CN', javaScriptEnabled: false });
  t.teardown(() => context.close());
  const simulator = await context.newPage();
  const problems = watchPageProblems(simulator);
  await simulator.goto(`${server.url}/simulator`);
  await simulator.fill('input[name=nickname]', 'NoScript');
  await simulator.locator('form[action="/simulator/personas"] button').click();
  await simulator.waitForSelector('#persona');

  const site = await (await browser.newContext()).newPage();
  t.teardown(() => site.context().close());
  await site.goto(`${server.url}/login`);
  const scene = (await site.locator('#qr').getAttribute('data-scene'))!;

  await simulator.getByRole('link', { name: '刷新', exact: true }).click();
  await simulator.locator(`li[data-scene="${scene}"] button.scan`).click();
  await simulator.locator('.chat .bubble.account').first().waitFor();
  t.true((await simulator.locator('#persona h2').textContent()) === 'NoScript');
  await site.waitForURL('**/bind', { timeout: 10_000 });
  problems.assertClean('simulator without JavaScript');
});
