import { mkdirSync } from 'node:fs';
import test from 'ava';
import { bindOnDesk } from '../helpers/browser-flow.js';
import { browserTest, hasChromium, shareChromiumAndServer } from '../helpers/chromium.js';
import { type Browser, type Page } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.js';

const shots = 'screenshots';

let browser: Browser;
let server: TestServer;

test.before(() => {
  if (hasChromium) mkdirSync(shots, { recursive: true });
});
// The default setting: LOGIN_CONFIRM=new-device.
shareChromiumAndServer({ env: { LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

async function desktop(): Promise<Page> {
  return (await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 } })).newPage();
}

async function phoneWindow(): Promise<Page> {
  return (await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
}

async function choosePersona(phone: Page, url: string, nickname: string) {
  await phone.goto(`${url}/simulator`);
  const header = phone.locator('#persona h2');
  if ((await header.count()) > 0 && (await header.textContent()) === nickname) return;
  const existing = phone.locator('.personas a', { hasText: nickname });
  if (await existing.count()) await existing.click();
  else {
    await phone.fill('input[name=nickname]', nickname);
    await phone.locator('form[action="/simulator/personas"] button').click();
  }
}

async function scanOnPhone(phone: Page, url: string, nickname: string, scene: string) {
  await choosePersona(phone, url, nickname);
  await phone.locator(`li[data-scene="${scene}"] button.scan`).click();
}

/** Taps the newest link in the chat: WeChat's in-app browser opens it inside the phone. */
async function openConfirmLink(phone: Page) {
  await phone.locator('.chat .chat-link').last().click();
  await phone.waitForURL('**/simulator/browser?**');
  const frame = phone.frameLocator('#in-app');
  await frame.locator('#confirm-device, #confirm-problem').first().waitFor();
  return frame;
}

async function shownNumber(desk: Page): Promise<string> {
  await desk.locator('#scanned').waitFor({ state: 'visible', timeout: 10_000 });
  return (await desk.locator('#pick-number').textContent())!.trim();
}

browserTest('a new device: scanned with a number, confirmed on the phone, bind, profile; the notice arrives; the known device is in at once', async (t) => {
  const desk = await desktop();
  const phone = await phoneWindow();
  await desk.goto(`${server.url}/login`);
  await desk.waitForFunction(() => document.getElementById('status')?.textContent === '等待扫码…');
  await desk.screenshot({ path: `${shots}/confirm-desktop-waiting.png` });
  const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;

  await scanOnPhone(phone, server.url, '小红', scene);
  const number = await shownNumber(desk);
  t.regex(number, /^\d\d$/);
  t.regex((await desk.locator('#scanned').textContent())!, /请在手机微信里点开确认链接/);
  await desk.screenshot({ path: `${shots}/confirm-desktop-scanned.png` });
  t.regex((await phone.locator('.chat').textContent())!, /有浏览器正在请求登录你的账号/);

  const frame = await openConfirmLink(phone);
  t.regex((await frame.locator('#confirm-browser').textContent())!, /Chrome/);
  t.is(await frame.locator('#confirm-ip').textContent(), '127.0.0.1');
  t.is(await frame.locator('button.number').count(), 3);
  await phone.screenshot({ path: `${shots}/confirm-phone-page.png`, fullPage: true });
  await frame.locator('button.number', { hasText: number }).click();
  await frame.locator('#confirm-outcome[data-outcome="approved"]').waitFor();
  await phone.screenshot({ path: `${shots}/confirm-phone-approved.png`, fullPage: true });

  await bindOnDesk(desk, phone, server.url, '13800138010');
  await desk.waitForURL('**/profile');
  t.is(await desk.locator('#phone').textContent(), '138****8010');

  // The notice after the login, in the chat.
  await phone.goto(`${server.url}/simulator`);
  await t.notThrowsAsync(async () => {
    for (let tries = 0; tries < 20 && !/通过扫码在这个浏览器上登录/.test((await phone.locator('.chat').textContent())!); tries += 1) {
      await phone.waitForTimeout(250);
      await phone.reload();
    }
  });
  t.regex((await phone.locator('.chat').textContent())!, /通过扫码在这个浏览器上登录[\s\S]*IP 127\.0\.0\.1/);
  await phone.screenshot({ path: `${shots}/confirm-phone-chat.png`, fullPage: true });

  // The same browser again: a known device, so the scan logs in at once.
  await desk.click('form[action="/logout"] button');
  await desk.waitForURL('**/login');
  const again = (await desk.locator('#qr').getAttribute('data-scene'))!;
  await scanOnPhone(phone, server.url, '小红', again);
  await desk.waitForURL('**/profile', { timeout: 10_000 });
  t.true((await phone.locator('.chat').textContent())!.includes('登录成功'));
});

browserTest('QRLJacking: another browser is refused with a wrong number or "不是我", and can get a new code', async (t) => {
  const attacker = await desktop();
  const phone = await phoneWindow();
  await attacker.goto(`${server.url}/login`);
  const scene = (await attacker.locator('#qr').getAttribute('data-scene'))!;
  await scanOnPhone(phone, server.url, '小红', scene);
  const number = await shownNumber(attacker);

  // The victim guesses (the attacker did not relay the number): a wrong pick kills the code.
  const frame = await openConfirmLink(phone);
  const wrong = (await frame.locator('button.number').allTextContents()).map((text) => text.trim()).find((text) => text !== number)!;
  await frame.locator('button.number', { hasText: wrong }).click();
  await frame.locator('#confirm-outcome[data-outcome="wrong_number"]').waitFor();
  await attacker.locator('#denied').waitFor({ state: 'visible', timeout: 10_000 });
  t.regex((await attacker.locator('#denied').textContent())!, /登录已被拒绝/);
  t.true(await attacker.locator('#scanned').isHidden());
  await attacker.screenshot({ path: `${shots}/confirm-desktop-denied.png` });
  t.is((await attacker.request.get(`${server.url}/api/me`)).status(), 401);

  // A new code; this time the victim presses "不是我，拒绝".
  await attacker.click('#new-code');
  await attacker.waitForURL('**/login');
  const second = (await attacker.locator('#qr').getAttribute('data-scene'))!;
  t.not(second, scene);
  await scanOnPhone(phone, server.url, '小红', second);
  await shownNumber(attacker);
  const secondFrame = await openConfirmLink(phone);
  await secondFrame.getByRole('button', { name: '不是我，拒绝' }).click();
  await secondFrame.locator('#confirm-outcome[data-outcome="denied"]').waitFor();
  await attacker.locator('#denied').waitFor({ state: 'visible', timeout: 10_000 });
  t.is((await attacker.request.get(`${server.url}/api/me`)).status(), 401);

  // The used link, tapped again: a clear page.
  await phone.goto(`${server.url}/simulator`);
  const usedFrame = await openConfirmLink(phone);
  t.regex((await usedFrame.locator('#confirm-problem').textContent())!, /已使用或已过期/);
  await phone.screenshot({ path: `${shots}/confirm-phone-used-link.png`, fullPage: true });
});

browserTest('LOGIN_CONFIRM=always asks every time, on a known device too', async (t) => {
  const always = await startServer(t, { env: { LOGIN_CONFIRM: 'always', LOGIN_POLL_TIMEOUT_MS: '5000' } });
  const desk = await desktop();
  const phone = await phoneWindow();
  for (const round of [1, 2]) {
    await desk.goto(`${always.url}/login`);
    const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;
    await scanOnPhone(phone, always.url, '小刚', scene);
    const number = await shownNumber(desk);
    const frame = await openConfirmLink(phone);
    await frame.locator('button.number', { hasText: number }).click();
    await frame.locator('#confirm-outcome[data-outcome="approved"]').waitFor();
    if (round === 1) {
      await bindOnDesk(desk, phone, always.url, '13800138011');
      await desk.waitForURL('**/profile');
    }
    else await desk.waitForURL('**/profile', { timeout: 10_000 });
    if (round === 1) {
      await desk.click('form[action="/logout"] button');
      await desk.waitForURL('**/login');
    }
  }
  t.is(await desk.locator('.logins li').count(), 2);
});
