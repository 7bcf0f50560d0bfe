import { mkdirSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type Browser } from 'playwright-core';
import { assertAccessible } from '../helpers/accessibility.js';
import { bindOnDesk } from '../helpers/browser-flow.js';
import { browserTest, hasChromium, shareChromiumAndServer } from '../helpers/chromium.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, type TestServer } from '../helpers/server.js';

// Each way in, walked with the simulator's phone: the page at phone and desktop widths, in both languages.
const screenshots = path.resolve(__dirname, '../../screenshots');

let browser: Browser;
let server: TestServer;

test.before(() => {
  if (hasChromium) mkdirSync(screenshots, { recursive: true });
});
shareChromiumAndServer({ env: { ...plainScanLogin, LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

const widths = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } } as const;
const languages = { zh: 'zh-CN', en: 'en-US' } as const;
let phoneNumber = 13_800_138_300;

for (const lang of ['zh', 'en'] as const) {
  for (const width of ['phone', 'desktop'] as const) {
    browserTest(`oa-code: the page's code, sent from the simulator phone, logs the browser in (${lang}, ${width})`, async (t) => {
      const context = await browser.newContext({ locale: languages[lang], viewport: widths[width], isMobile: width === 'phone', bypassCSP: true });
      const phoneContext = await browser.newContext({ locale: 'zh-CN', viewport: widths.phone, isMobile: true });
      t.teardown(async () => {
        await context.close();
        await phoneContext.close();
      });
      const desk = await context.newPage();
      const phone = await phoneContext.newPage();
      const deskProblems = watchPageProblems(desk);
      const phoneProblems = watchPageProblems(phone);

      // The QR page offers the other way; one click shows the code.
      await desk.goto(`${server.url}/login`);
      await desk.click('#way-oa-code');
      await desk.waitForSelector('#login-code');
      t.is(await desk.locator('#way-oa-code').getAttribute('aria-current'), 'page');
      const code = (await desk.locator('#login-code').getAttribute('data-code'))!;
      t.regex(code, /^[2-9A-Z]{8}$/);
      await desk.screenshot({ path: path.join(screenshots, `login-code-${lang}-${width}.png`), fullPage: true });
      await assertAccessible(desk, `login code page (${lang}, ${width})`);

      // The phone: a new persona follows the account and sends the code as typed, in lower case.
      await phone.goto(`${server.url}/simulator`);
      await phone.fill('input[name=nickname]', `码${lang}${width}`);
      await phone.locator('form[action="/simulator/personas"] button').click();
      await phone.locator('form[action="/simulator/follow"] button').click();
      await phone.fill('#sim-message', code.toLowerCase());
      await phone.click('#sim-send');
      await bindOnDesk(desk, phone, server.url, String((phoneNumber += 1)));
      await desk.waitForURL('**/profile');
      t.true(await desk.locator('#phone').isVisible());
      deskProblems.assertClean('desktop window');
      phoneProblems.assertClean('phone window');
    });
  }
}

for (const lang of ['zh', 'en'] as const) {
  for (const width of ['phone', 'desktop'] as const) {
    browserTest(`miniprogram-code: the phone scans the mini-program code and confirms in the mini-program (${lang}, ${width})`, async (t) => {
      const context = await browser.newContext({ locale: languages[lang], viewport: widths[width], isMobile: width === 'phone', bypassCSP: true });
      const phoneContext = await browser.newContext({ locale: 'zh-CN', viewport: widths.phone, isMobile: true });
      t.teardown(async () => {
        await context.close();
        await phoneContext.close();
      });
      const desk = await context.newPage();
      const phone = await phoneContext.newPage();
      const deskProblems = watchPageProblems(desk);
      const phoneProblems = watchPageProblems(phone);

      await desk.goto(`${server.url}/login`);
      await desk.click('#way-miniprogram-code');
      await desk.waitForSelector('#mini-code');
      t.true(await desk.locator('#mini-code').evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth > 0), 'the PNG shows');
      const miniScene = (await desk.locator('#mini-code').getAttribute('data-mini-scene'))!;
      await desk.screenshot({ path: path.join(screenshots, `login-mini-${lang}-${width}.png`), fullPage: true });
      await assertAccessible(desk, `mini-program code page (${lang}, ${width})`);

      await phone.goto(`${server.url}/simulator`);
      await phone.fill('input[name=nickname]', `小程序${lang}${width}`);
      await phone.locator('form[action="/simulator/personas"] button').click();
      await phone.locator(`li[data-mini-scene="${miniScene}"] button.mini-scan`).click();
      await phone.locator('#mini-approve').click();
      t.is(await phone.locator('#mini-screen').getAttribute('data-state'), 'sent');
      await bindOnDesk(desk, phone, server.url, String((phoneNumber += 1)));
      await desk.waitForURL('**/profile');
      deskProblems.assertClean('desktop window');
      phoneProblems.assertClean('phone window');
    });
  }
}
