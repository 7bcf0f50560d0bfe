import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { bindOnDesk } from '../helpers/browser-flow.js';
import { browserTest, shareChromiumAndServer } from '../helpers/chromium.js';
import { type Browser, type Page } from 'playwright-core';
import { assertAccessible } from '../helpers/accessibility.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, startServer, type TestServer } from '../helpers/server.js';

const screenshots = path.resolve(__dirname, '../../screenshots');

let browser: Browser;
let server: TestServer;

shareChromiumAndServer({ env: { ...plainScanLogin, LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

async function scanOnPhone(phone: Page, nickname: string, scene: string) {
  await phone.goto(`${server.url}/simulator`);
  await phone.fill('input[name=nickname]', nickname);
  await phone.locator('form[action="/simulator/personas"] button').click();
  await phone.locator(`li[data-scene="${scene}"] button.scan`).click();
}

browserTest('the demo app: "Log in" → QR page → scan and bind → claims → prompt=login scans again → back-channel logout → RP-initiated logout', async (t) => {
  // bypassCSP lets axe run; the server's own headers stay as they are.
  const desk = await (await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 }, bypassCSP: true })).newPage();
  const phone = await (await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
  const deskProblems = watchPageProblems(desk);
  const phoneProblems = watchPageProblems(phone);

  await desk.goto(`${server.url}/simulator/demo-app`);
  t.is(await desk.locator('h1').textContent(), '演示应用');
  await assertAccessible(desk, 'demo app start page');
  await desk.click('#demo-login');
  await desk.waitForURL(/\/login\?next=%2Foidc%2Finteraction%2F/);
  const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;

  await scanOnPhone(phone, '演示用户', scene);
  await bindOnDesk(desk, phone, server.url, '13800138077');

  // The callback keeps the demo's own session and shows it at the demo's address.
  await desk.waitForURL(`${server.url}/simulator/demo-app`, { timeout: 10_000 });
  t.is(await desk.locator('h1').textContent(), '已登录：ID 令牌中的声明');
  const claimsShown = async () =>
    Object.fromEntries(
      await desk.locator('table.claims tbody tr').evaluateAll((rows) => rows.map((row) => [row.querySelector('th')!.textContent, row.querySelector('td')!.textContent])),
    );
  const claims = await claimsShown();
  const user = await server.knex('users').where({ phone: '13800138077' }).first();
  t.is(claims.sub, String(user.id));
  t.is(claims.phone_number, '+8613800138077');
  t.is(claims.phone_number_verified, 'true');
  t.is(claims.iss, `${server.url}/oidc`);
  t.is(claims.aud, 'demo-app');
  t.truthy(claims.sid, 'the demo client requires sid, for back-channel logout');
  await assertAccessible(desk, 'demo app claims page');
  mkdirSync(screenshots, { recursive: true });
  await desk.screenshot({ path: path.join(screenshots, 'oidc-demo-claims.png'), fullPage: true });

  // Re-authentication: prompt=login shows the QR page again although this browser is signed in; a scan brings it back.
  await desk.click('#demo-prompt-login');
  await desk.waitForURL(/\/login\?fresh=1&next=%2Foidc%2Finteraction%2F/);
  const again = (await desk.locator('#qr').getAttribute('data-scene'))!;
  await phone.goto(`${server.url}/simulator`);
  await phone.locator(`li[data-scene="${again}"] button.scan`).click();
  await desk.waitForURL(`${server.url}/simulator/demo-app`, { timeout: 10_000 });
  const relogged = await claimsShown();
  t.not(relogged.sid, claims.sid, 'a new login here is a new session of the application');

  // Back-channel logout: the session here ends from the profile page; the demo app learns it from a logout token.
  await desk.goto(`${server.url}/profile`);
  await desk.click('form.logout button');
  await desk.waitForURL(/\/login$/);
  await server.handle.jobs.sendOutbox();
  await desk.goto(`${server.url}/simulator/demo-app`);
  t.regex((await desk.locator('#demo-ended').textContent())!, /后端通道/);
  await assertAccessible(desk, 'demo app after back-channel logout');
  await desk.screenshot({ path: path.join(screenshots, 'oidc-demo-backchannel-logout.png'), fullPage: true });

  // RP-initiated logout from the demo app: the provider asks, "yes" ends this server's session too.
  await desk.click('#demo-login');
  await desk.waitForURL(/\/login\?next=%2Foidc%2Finteraction%2F/);
  const third = (await desk.locator('#qr').getAttribute('data-scene'))!;
  await phone.goto(`${server.url}/simulator`);
  await phone.locator(`li[data-scene="${third}"] button.scan`).click();
  await desk.waitForURL(`${server.url}/simulator/demo-app`, { timeout: 10_000 });
  await desk.click('#demo-logout');
  await desk.waitForSelector('button[name=logout]');
  await assertAccessible(desk, 'provider logout page');
  await desk.screenshot({ path: path.join(screenshots, 'oidc-logout.png'), fullPage: true });
  await desk.click('button[name=logout]');
  await desk.waitForURL(`${server.url}/simulator/demo-app`);
  await desk.goto(`${server.url}/profile`);
  t.regex(desk.url(), /\/login$/);

  deskProblems.assertClean('desktop window');
  phoneProblems.assertClean('phone window');
});

browserTest('an application on another origin gets its code after the phone binding form (CSP form-action allows registered redirects)', async (t) => {
  const http = await import('node:http');
  const application = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(`application got ${request.url}`);
  });
  await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
  // localhost, not 127.0.0.1: another origin than the server's.
  const callback = `http://localhost:${(application.address() as { port: number }).port}/callback`;
  const client = { client_id: 'elsewhere', client_secret: 'elsewhere-secret-0123456789', redirect_uris: [callback] };
  // Teardowns run last-registered first: the server closes before the application.
  t.teardown(async () => {
    application.closeAllConnections();
    await new Promise((resolve) => application.close(resolve));
  });
  const other = await startServer(t, { env: { ...plainScanLogin, OIDC_CLIENTS: JSON.stringify([client]) } });
  const desk = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  const phone = await (await browser.newContext({ locale: 'zh-CN', isMobile: true })).newPage();
  const problems = watchPageProblems(desk);
  const query = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    scope: 'openid phone',
    redirect_uri: callback,
    state: 'state-1',
    nonce: 'nonce-1',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  await desk.goto(`${other.url}/oidc/auth?${query}`);
  const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;
  await phone.goto(`${other.url}/simulator`);
  await phone.fill('input[name=nickname]', '别处用户');
  await phone.locator('form[action="/simulator/personas"] button').click();
  await phone.locator(`li[data-scene="${scene}"] button.scan`).click();
  await desk.waitForURL('**/bind', { timeout: 10_000 });
  await desk.fill('#phone-send', '13800138078');
  await desk.click('#send-code');
  await desk.waitForSelector('#code');
  await phone.goto(`${other.url}/simulator`);
  await desk.fill('#code', (await phone.locator('.sms-code').first().textContent())!);
  await desk.click('#bind-submit');
  await desk.waitForURL(`${callback}?**`, { timeout: 10_000 });
  t.regex((await desk.textContent('body'))!, /application got \/callback\?code=/);
  problems.assertClean('desktop window');
});
