import { mkdirSync } from 'node:fs';
import { browserTest, shareChromiumAndServer } from '../helpers/chromium.js';
import { type Browser } from 'playwright-core';
import { logInNewUser, openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { plainScanLogin, type TestServer } from '../helpers/server.js';

let browser: Browser;
let server: TestServer;

shareChromiumAndServer({ env: plainScanLogin }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

/** Hands the cookies of an HTTP-level login to a chromium context, so the page opens signed in. */
function cookiesFor(cookieHeader: string) {
  return cookieHeader.split('; ').map((pair) => {
    const index = pair.indexOf('=');
    return { name: pair.slice(0, index), value: pair.slice(index + 1), url: server.url };
  });
}

browserTest('the profile lists the signed-in devices at phone and desktop widths, and ends another one', async (t) => {
  const first = await logInNewUser(server, 'o_devices_page', '13800000111');
  // A second login of the same user from an iPhone.
  const { browser: iphone, scene } = await openLoginPage(server);
  const pending = poll(iphone, scene);
  await phoneFor(server).scan('o_devices_page', scene, 'ticket', true);
  t.is((await pending).body.status, 'success');
  const newest = await server.knex('user_sessions').max({ id: 'id' }).first();
  await server.knex('user_sessions').where({ id: newest!.id }).update({
    user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44',
    ip: '203.0.113.8',
  });
  mkdirSync('screenshots', { recursive: true });
  for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]] as const) {
    const context = await browser.newContext({ locale: 'zh-CN', viewport });
    await context.addCookies(cookiesFor(first.cookieHeader()));
    const page = await context.newPage();
    await page.goto(`${server.url}/profile`);
    const items = page.locator('#sessions li');
    t.is(await items.count(), 2, name);
    t.regex((await page.locator('#sessions li.current').textContent())!, /未知浏览器[\s\S]*当前设备/);
    t.regex((await page.locator('#sessions li:not(.current)').textContent())!, /WeChat 8[\s\S]*iOS 17\.1[\s\S]*203\.0\.113\.8/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.true(overflow <= 0, `${name}: no sideways scrolling`);
    await page.screenshot({ path: `screenshots/profile-sessions-${name}.png`, fullPage: true });
    await context.close();
  }
  const context = await browser.newContext({ locale: 'en-US' });
  await context.addCookies(cookiesFor(first.cookieHeader()));
  const page = await context.newPage();
  await page.goto(`${server.url}/profile?lang=en`);
  await page.locator('#sessions li:not(.current) button').click();
  await page.waitForURL('**/profile');
  t.is(await page.locator('#sessions li').count(), 1);
  t.is((await iphone.get('/api/me')).status, 401, 'the iPhone is signed out');
  await context.close();
});
