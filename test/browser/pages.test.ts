import path from 'node:path';
import { browserTest, languages, makeScreenshotsFolder, screenshots, shareChromiumAndServer, widths } from '../helpers/chromium.js';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { assertAccessible } from '../helpers/accessibility.js';
import { watchPageProblems, type PageProblems } from '../helpers/page-problems.js';
import { createEndSessionLinks } from '../../src/login/session/end-session-links.js';
import { confirmPathOf, createPersona } from '../helpers/confirm-flow.js';
import { logInNewUser, phoneFor } from '../helpers/login-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../helpers/server.js';

// Every page a person meets, in both languages, on a phone and on a desktop:
// no serious or critical axe-core violation, and a clean console.
let browser: Browser;
let server: TestServer;

makeScreenshotsFolder();
shareChromiumAndServer({ env: { ...plainScanLogin, LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});


/**
 * A browser context as a person of that language and screen would have it.
 * bypassCSP lets axe run; the server's own headers stay as they are.
 */
async function personContext(lang: keyof typeof languages, width: keyof typeof widths): Promise<BrowserContext> {
  return browser.newContext({ locale: languages[lang], viewport: widths[width], isMobile: width === 'phone', bypassCSP: true });
}

/**
 * Checks the page as it is now: accessibility, console, and a screenshot to
 * look at. Returns what is wrong (empty when all is well), so that one run
 * lists the problems of every page instead of stopping at the first.
 */
async function checkPage(page: Page, problems: PageProblems, name: string, lang: string, width: string): Promise<string[]> {
  const label = `${name} (${lang}, ${width})`;
  await page.screenshot({ path: path.join(screenshots, `${name}-${lang}-${width}.png`), fullPage: true });
  const found: string[] = [];
  for (const assertion of [() => assertAccessible(page, label), () => problems.assertClean(label)]) {
    try {
      await assertion();
    } catch (error) {
      found.push((error as Error).message);
    }
  }
  return found;
}

let phoneNumber = 13_800_138_100;

for (const lang of ['zh', 'en'] as const) {
  for (const width of ['phone', 'desktop'] as const) {
    browserTest(`every page is accessible and has a clean console: ${lang}, ${width}`, async (t) => {
      const context = await personContext(lang, width);
      t.teardown(() => context.close());
      const site = await context.newPage();
      const phone = await context.newPage();
      const siteProblems = watchPageProblems(site);
      const phoneProblems = watchPageProblems(phone);
      const failures: string[] = [];
      const check = async (page: Page, name: string) => {
        failures.push(...(await checkPage(page, page === site ? siteProblems : phoneProblems, name, lang, width)));
      };

      // The simulator, empty, then with a new user.
      await phone.goto(`${server.url}/simulator?lang=${lang}`);
      await check(phone, 'simulator-empty');
      await phone.fill('input[name=nickname]', `${lang}-${width}`);
      await phone.locator('form[action="/simulator/personas"] button').click();
      const openid = (await phone.locator('#persona').getAttribute('data-openid'))!;
      const simulatorAsPersona = `${server.url}/simulator?as=${encodeURIComponent(openid)}`;

      // The login page, waiting for a scan.
      await site.goto(`${server.url}/login`);
      await site.waitForFunction(() => (document.getElementById('status')?.textContent ?? '') !== '');
      t.is(await site.getAttribute('html', 'lang'), lang === 'en' ? 'en' : 'zh-CN');
      await check(site, 'login');

      // The simulator sees the waiting code; the scan landing page a real phone would open.
      const scene = (await site.locator('#qr').getAttribute('data-scene'))!;
      await phone.goto(simulatorAsPersona);
      const ticket = (await phone.locator(`li[data-scene="${scene}"] input[name=ticket]`).getAttribute('value'))!;
      await check(phone, 'simulator-waiting');
      await phone.goto(`${server.url}/simulator/scan?ticket=${encodeURIComponent(ticket)}`);
      await check(phone, 'simulator-scan');
      phoneProblems.expect(404, '/simulator/scan');
      await phone.goto(`${server.url}/simulator/scan?ticket=unknown`);
      await check(phone, 'simulator-scan-unknown');

      // The in-WeChat authorize page of the simulator.
      await phone.goto(`${server.url}/auth/wechat`);
      await phone.waitForURL('**/connect/oauth2/authorize**');
      await check(phone, 'simulator-authorize');

      // Scan: the login page moves on to phone binding by itself.
      await phone.goto(simulatorAsPersona);
      await phone.locator(`li[data-scene="${scene}"] button.scan`).click();
      await site.waitForURL('**/bind', { timeout: 10_000 });
      await check(site, 'bind');

      phoneNumber += 1;
      await site.fill('#phone-send', String(phoneNumber));
      await site.click('#send-code');
      await site.waitForSelector('#code');
      await check(site, 'bind-code-sent');

      siteProblems.expect(422, '/bind');
      await site.fill('#code', '000000');
      await site.click('#bind-submit');
      await site.waitForSelector('.error');
      await check(site, 'bind-wrong-code');

      await phone.goto(simulatorAsPersona);
      await check(phone, 'simulator-chat-sms');
      const code = (await phone.locator('.sms-code').first().textContent())!;
      await site.fill('#code', code);
      await site.click('#bind-submit');
      await site.waitForURL('**/profile');
      await check(site, 'profile');

      siteProblems.expect(404, '/nope');
      const notFound = await site.goto(`${server.url}/nope`);
      t.is(notFound?.status(), 404);
      await check(site, 'error-404');
      if (failures.length > 0) t.fail(`\n${failures.join('\n\n')}`);
      else t.pass();
    });
  }
}

browserTest('the QR code has a text alternative, and the expiry is announced once a minute, not every second', async (t) => {
  const context = await personContext('en', 'phone');
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems = watchPageProblems(page);
  // A fake clock: a minute passes in no time, and the seconds can be counted.
  await page.clock.install();
  await page.goto(`${server.url}/login`);

  const qr = page.getByRole('img', { name: /WeChat login QR code/ });
  t.is(await qr.count(), 1);
  t.regex((await qr.getAttribute('aria-label'))!, /scan it with "Scan"/);
  t.is(await page.locator('.countdown').getAttribute('aria-hidden'), 'true');
  const notice = page.locator('#expiry-notice');
  t.is(await notice.getAttribute('aria-live'), 'polite');
  t.is(await page.locator('#status').getAttribute('aria-live'), 'polite');
  t.is(await notice.textContent(), 'The code expires within 5 minutes');

  await page.evaluate(() => {
    const changes: string[] = [];
    (window as unknown as { noticeChanges: string[] }).noticeChanges = changes;
    const target = document.getElementById('expiry-notice')!;
    new MutationObserver(() => changes.push(target.textContent ?? '')).observe(target, { childList: true, characterData: true, subtree: true });
  });
  const changes = () => page.evaluate(() => (window as unknown as { noticeChanges: string[] }).noticeChanges);
  const secondsShown = async () => Number(await page.locator('#countdown').textContent());

  const before = await secondsShown();
  await page.clock.runFor(10_000);
  t.true(before - (await secondsShown()) >= 9, 'the visible countdown ticks every second');
  t.deepEqual(await changes(), [], 'nothing is announced while the minute has not changed');

  await page.clock.runFor(60_000);
  t.deepEqual(await changes(), ['The code expires within 4 minutes']);
  await page.clock.runFor(60_000 * 3);
  t.deepEqual(await changes(), ['The code expires within 4 minutes', 'The code expires within 3 minutes', 'The code expires within 2 minutes', 'The code expires within a minute']);
  problems.assertClean('login with a fake clock');
});

browserTest('inside WeChat, the login page with its one-tap button is accessible too', async (t) => {
  for (const lang of ['zh', 'en'] as const) {
    const context = await browser.newContext({
      locale: languages[lang],
      viewport: widths.phone,
      isMobile: true,
      bypassCSP: true,
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47',
    });
    t.teardown(() => context.close());
    const page = await context.newPage();
    const problems = watchPageProblems(page);
    await page.goto(`${server.url}/login`);
    t.true(await page.locator('#oauth-login').isVisible());
    const failures = await checkPage(page, problems, 'login-in-wechat', lang, 'phone');
    t.deepEqual(failures, []);
  }
});

browserTest('the confirmation states, the confirm page and the end-this-login page are accessible, in both languages', async (t) => {
  // The default LOGIN_CONFIRM=new-device, so a first login from a browser asks the phone.
  const confirming = await startServer(t, { env: { LOGIN_POLL_TIMEOUT_MS: '5000' } });
  // The end-this-login page needs a completed login: the plain flow gets there quicker.
  const plain = await startServer(t, { env: plainScanLogin });
  for (const lang of ['zh', 'en'] as const) {
    const desk = await (await personContext(lang, 'desktop')).newPage();
    const phone = await (await personContext(lang, 'phone')).newPage();
    t.teardown(() => desk.context().close());
    t.teardown(() => phone.context().close());
    const deskProblems = watchPageProblems(desk);
    const phoneProblems = watchPageProblems(phone);
    const failures: string[] = [];
    const check = async (page: Page, name: string, width: string) => {
      failures.push(...(await checkPage(page, page === desk ? deskProblems : phoneProblems, name, lang, width)));
    };
    const openid = await createPersona(confirming, `confirm-${lang}`);

    await desk.goto(`${confirming.url}/login`);
    const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;
    const reply = await phoneFor(confirming).scan(openid, scene, 'ticket', false);
    await desk.locator('#scanned').waitFor({ state: 'visible', timeout: 10_000 });
    await check(desk, 'login-scanned', 'desktop');

    // The phone opens the link in WeChat's in-app browser as the scanner (the OAuth round trip is silent).
    const confirmPath = confirmPathOf(confirming, reply.replyText);
    await phone.goto(`${confirming.url}/simulator/browser?as=${encodeURIComponent(openid)}&url=${encodeURIComponent(confirming.url + confirmPath)}`);
    await phone.goto(`${confirming.url}${confirmPath}`);
    await phone.locator('#confirm-device').waitFor();
    await check(phone, 'confirm', 'phone');
    await phone.locator('button.deny').click();
    await phone.locator('#confirm-outcome').waitFor();
    await check(phone, 'confirm-denied', 'phone');
    await desk.locator('#denied').waitFor({ state: 'visible', timeout: 10_000 });
    await check(desk, 'login-denied', 'desktop');

    // The "end this login" link of the notice, for a session of this user.
    // The same nickname gives the same openid: this phone already proved it is that WeChat user (cookies ignore ports).
    const owner = await createPersona(plain, `confirm-${lang}`);
    phoneNumber += 1;
    const signedIn = await logInNewUser(plain, owner, String(phoneNumber));
    const session = await plain.knex('user_sessions').orderBy('id', 'desc').first();
    const links = createEndSessionLinks({ keys: plain.config.keys.link, publicUrl: plain.url, lifetimeSeconds: 3600 });
    const endPath = links.linkFor({ id: session.id, userId: session.user_id }).slice(plain.url.length);
    await phone.goto(`${plain.url}/simulator/browser?as=${encodeURIComponent(owner)}&url=${encodeURIComponent(plain.url + endPath)}`);
    await phone.goto(`${plain.url}${endPath}`);
    await phone.locator('#end-session').waitFor();
    await check(phone, 'end-session', 'phone');
    await phone.locator('#end-session-button').click();
    await phone.locator('#end-outcome').waitFor();
    await check(phone, 'end-session-done', 'phone');
    t.is((await signedIn.get('/api/me')).status, 401);
    if (failures.length > 0) t.fail(`\n${failures.join('\n\n')}`);
  }
  t.pass();
});
