import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { runAdmin } from '../../src/admin/cli.js';
import { createAdminQueries } from '../../src/db/admin-queries.js';
import { assertAccessible } from '../helpers/accessibility.js';
import type { BrowserClient } from '../helpers/browser-client.js';
import { browserTest, languages, makeScreenshotsFolder, screenshots, shareChromiumAndServer, widths } from '../helpers/chromium.js';
import { createPersona } from '../helpers/confirm-flow.js';
import { confirmOnPhone, plainLogin } from '../helpers/console-flow.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, type TestServer } from '../helpers/server.js';

makeScreenshotsFolder();
let browser: Browser;
let server: TestServer;
shareChromiumAndServer({ env: { ...plainScanLogin } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

/** A chromium context holding the cookies of a session made over HTTP (the login itself is tested elsewhere). */
async function contextWith(client: BrowserClient, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ bypassCSP: true, ...options });
  await context.addCookies(
    client
      .cookieHeader()
      .split('; ')
      .filter(Boolean)
      .map((pair) => ({ name: pair.slice(0, pair.indexOf('=')), value: pair.slice(pair.indexOf('=') + 1), url: server.url })),
  );
  return context;
}

let admin: BrowserClient | undefined;
let targetId = 0;
/** An admin whose session began with a login confirmed on the phone, and a user to look at. */
async function confirmedAdmin(): Promise<BrowserClient> {
  if (admin) return admin;
  const openid = await createPersona(server, 'Console admin');
  const client = await plainLogin(server, openid, '13800138301');
  await runAdmin(['grant-admin', openid], createAdminQueries(server.knex), { out: () => undefined, err: () => undefined });
  await confirmOnPhone(server, client, openid, '/login?fresh=1&confirm=1&next=%2Fadmin');
  const target = await createPersona(server, 'Console target');
  await plainLogin(server, target, '13800138302');
  targetId = (await server.knex('users').where({ openid: target }).first('id')).id;
  admin = client;
  return client;
}

browserTest('a non-admin gets the 404 page; an admin without a confirmed login is sent to confirm on the phone', async (t) => {
  const someone = await plainLogin(server, await createPersona(server, 'Not an admin'), '13800138303');
  const context = await contextWith(someone, { locale: 'zh-CN' });
  const page = await context.newPage();
  const response = await page.goto(`${server.url}/admin`);
  t.is(response?.status(), 404);
  await runAdmin(['grant-admin', '13800138303'], createAdminQueries(server.knex), { out: () => undefined, err: () => undefined });
  await page.goto(`${server.url}/admin`);
  t.is(new URL(page.url()).pathname + new URL(page.url()).search, '/login?fresh=1&confirm=1&next=%2Fadmin');
  t.truthy(await page.locator('#qr').getAttribute('data-scene'));
  await context.close();
});

browserTest('the dashboard draws its charts without JavaScript', async (t) => {
  const context = await contextWith(await confirmedAdmin(), { javaScriptEnabled: false, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${server.url}/admin`);
  t.is(await page.locator('h1').textContent(), 'Operator console');
  for (const id of ['logins-by-hour', 'logins-by-day', 'funnel', 'sms']) t.is(await page.locator(`#${id} svg.bars`).count(), 1, id);
  t.true((await page.locator('#logins-by-hour rect').count()) > 0, 'the logins of this test are drawn');
  t.true((await page.locator('#funnel rect').count()) === 4);
  await context.close();
});

browserTest('search, a user page, block with its notice and its log line', async (t) => {
  const context = await contextWith(await confirmedAdmin(), { locale: 'en-US' });
  const page = await context.newPage();
  const problems = watchPageProblems(page);
  await page.goto(`${server.url}/admin/users`);
  await page.fill('#q', '13800138302');
  await page.click('form[role=search] button');
  await page.click(`#results a[href="/admin/users/${targetId}"]`);
  await page.waitForURL(`${server.url}/admin/users/${targetId}`);
  t.regex((await page.locator('#user-logins').textContent())!, /127\.0\.0\.1/);
  // Laid out as a table: the header above its rows (a class shared with the confirm page once set it in a row).
  const header = (await page.locator('#user-logins thead').boundingBox())!;
  const rows = (await page.locator('#user-logins tbody').boundingBox())!;
  t.true(rows.y >= header.y + header.height - 1 && Math.abs(rows.x - header.x) < 2, JSON.stringify({ header, rows }));
  await page.click('#action-block');
  await page.waitForURL(`${server.url}/admin/users/${targetId}?done=block`);
  t.is((await page.locator('#done').textContent())!.trim(), 'The user is blocked and signed out everywhere.');
  t.is((await page.locator('#user-status').textContent())!.trim(), 'Blocked');
  await page.click('#action-unblock');
  await page.waitForURL(`${server.url}/admin/users/${targetId}?done=unblock`);
  await page.click('.admin-nav a[href="/admin/log"]');
  const log = (await page.locator('.admin-log tbody').textContent())!;
  t.regex(log, /Block/);
  t.regex(log, /Unblock/);
  problems.assertClean('console');
  await context.close();
});

browserTest('the console pages are accessible, in both languages, on a phone and a desktop', async (t) => {
  const client = await confirmedAdmin();
  for (const [lang, locale] of Object.entries(languages)) {
    for (const [size, viewport] of Object.entries(widths)) {
      const context = await contextWith(client, { locale, viewport, isMobile: size === 'phone' });
      const page = await context.newPage();
      const problems = watchPageProblems(page);
      for (const [name, address] of [
        ['dashboard', '/admin'],
        ['users', '/admin/users?q=13800138302'],
        ['user', `/admin/users/${targetId}`],
        ['log', '/admin/log'],
      ]) {
        await page.goto(`${server.url}${address}`);
        await assertAccessible(page, `console ${name}, ${lang}, ${size}`);
        await page.screenshot({ path: path.join(screenshots, `console-${name}-${lang}-${size}.png`), fullPage: true });
      }
      problems.assertClean(`console, ${lang}, ${size}`);
      await context.close();
    }
  }
  t.pass();
});
