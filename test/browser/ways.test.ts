import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { type Browser } from 'playwright-core';
import { assertAccessible } from '../helpers/accessibility.js';
import { bindOnDesk } from '../helpers/browser-flow.js';
import { browserTest, languages, makeScreenshotsFolder, screenshots, shareChromiumAndServer, widths } from '../helpers/chromium.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, type TestServer } from '../helpers/server.js';

// Each way in, walked with the simulator's phone: the page at phone and desktop widths, in both languages.

let browser: Browser;
let server: TestServer;

makeScreenshotsFolder();
shareChromiumAndServer({ env: { ...plainScanLogin, LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

let phoneNumber = 13_800_138_300;

/**
 * The site in a person's language and screen, the simulator on a phone beside it, and what finishes the walk:
 * the way's page checked (screenshot, axe), the phone binding, the profile and both consoles clean.
 */
async function openDeskAndPhone(t: ExecutionContext, lang: keyof typeof languages, width: keyof typeof widths) {
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
  return {
    desk,
    phone,
    async checkWayPage(name: string) {
      await desk.screenshot({ path: path.join(screenshots, `${name}-${lang}-${width}.png`), fullPage: true });
      await assertAccessible(desk, `${name} (${lang}, ${width})`);
    },
    async newPersona(nickname: string) {
      await phone.goto(`${server.url}/simulator`);
      await phone.fill('input[name=nickname]', nickname);
      await phone.locator('form[action="/simulator/personas"] button').click();
    },
    async bindAndReachProfile() {
      await bindOnDesk(desk, phone, server.url, String((phoneNumber += 1)));
      await desk.waitForURL('**/profile');
      deskProblems.assertClean('desktop window');
      phoneProblems.assertClean('phone window');
    },
  };
}

for (const lang of ['zh', 'en'] as const) {
  for (const width of ['phone', 'desktop'] as const) {
    browserTest(`oa-code: the page's code, sent from the simulator phone, logs the browser in (${lang}, ${width})`, async (t) => {
      const { desk, phone, checkWayPage, newPersona, bindAndReachProfile } = await openDeskAndPhone(t, lang, width);
      // The QR page offers the other ways; one click shows the code.
      await desk.goto(`${server.url}/login`);
      await desk.click('#way-oa-code');
      await desk.waitForSelector('#login-code');
      t.is(await desk.locator('#way-oa-code').getAttribute('aria-current'), 'page');
      const code = (await desk.locator('#login-code').getAttribute('data-code'))!;
      t.regex(code, /^[2-9A-Z]{8}$/);
      await checkWayPage('login-code');

      // A new persona follows the account and sends the code as typed, in lower case.
      await newPersona(`码${lang}${width}`);
      await phone.locator('form[action="/simulator/follow"] button').click();
      await phone.fill('#sim-message', code.toLowerCase());
      await phone.click('#sim-send');
      await bindAndReachProfile();
    });

    browserTest(`miniprogram-code: the phone scans the mini-program code and confirms in the mini-program (${lang}, ${width})`, async (t) => {
      const { desk, phone, checkWayPage, newPersona, bindAndReachProfile } = await openDeskAndPhone(t, lang, width);
      await desk.goto(`${server.url}/login`);
      await desk.click('#way-miniprogram-code');
      await desk.waitForSelector('#mini-code');
      t.true(await desk.locator('#mini-code').evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth > 0), 'the PNG shows');
      const miniScene = (await desk.locator('#mini-code').getAttribute('data-mini-scene'))!;
      await checkWayPage('login-mini');

      await newPersona(`小程序${lang}${width}`);
      await phone.locator(`li[data-mini-scene="${miniScene}"] button.mini-scan`).click();
      await phone.locator('#mini-approve').click();
      t.is(await phone.locator('#mini-screen').getAttribute('data-state'), 'sent');
      await bindAndReachProfile();
    });

    browserTest(`open-qr: WeChat's own page, allowed on the phone, leads back to the site (${lang}, ${width})`, async (t) => {
      const { desk, phone, checkWayPage, newPersona, bindAndReachProfile } = await openDeskAndPhone(t, lang, width);
      await desk.goto(`${server.url}/login`);
      await desk.click('#way-open-qr');
      await desk.waitForSelector('#qrconnect');
      const id = (await desk.locator('#qrconnect').getAttribute('data-request'))!;
      await checkWayPage('login-open');

      await newPersona(`网页${lang}${width}`);
      await phone.locator(`li[data-qrconnect="${id}"] button.qrconnect-allow`).click();
      // The page asks whether the phone has answered, and goes back to the site by itself.
      await bindAndReachProfile();
      t.true(await desk.locator('#phone').isVisible());
    });
  }
}
