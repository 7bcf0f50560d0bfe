import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { assertAccessible } from '../helpers/accessibility.js';
import { browserTest, shareChromiumAndServer } from '../helpers/chromium.js';
import { answer, confirmPathOf, createPersona, openInWechat } from '../helpers/confirm-flow.js';
import { csrfOf } from '../helpers/browser-client.js';
import { logInNewUser, phoneFor } from '../helpers/login-flow.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, startServer, type TestServer } from '../helpers/server.js';

// Issue 24, the login page: a browser that keeps no cookie, one state at a time, and an idle tab that stops renewing.

let browser: Browser;
/** LOGIN_CONFIRM=always: every scan shows the number, so the scanned and denied states are reachable. */
let server: TestServer;

shareChromiumAndServer({ env: { LOGIN_CONFIRM: 'always', LOGIN_POLL_TIMEOUT_MS: '5000' } }, (sharedBrowser, sharedServer) => {
  browser = sharedBrowser;
  server = sharedServer;
});

const languages = { zh: 'zh-CN', en: 'en-US' } as const;

/** How many times this server called qrcode/create (the counter behind /metrics). */
async function qrCodesCreated(site: TestServer): Promise<number> {
  return (await site.handle.metrics.qrCodesCreated.get()).values[0]?.value ?? 0;
}

/**
 * A browser that keeps no cookie: every request goes out without a Cookie
 * header, and no Set-Cookie ever reaches the browser. The requests are made
 * here (Node's fetch) and the answers handed to the page as they came, minus
 * the cookies, so the server sees exactly what such a browser sends.
 */
async function refuseCookies(context: BrowserContext): Promise<void> {
  const passed = ['accept', 'accept-language', 'user-agent', 'content-type', 'x-csrf-token', 'referer'];
  await context.route('**/*', async (route) => {
    const request = route.request();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers())) if (passed.includes(name)) headers[name] = value;
    const response = await fetch(request.url(), { method: request.method(), headers, body: request.postDataBuffer() ? new Uint8Array(request.postDataBuffer()!) : undefined, redirect: 'manual' });
    const answered: Record<string, string> = {};
    // fetch has already undone any content encoding; the length is the body's own.
    response.headers.forEach((value, name) => {
      if (!['set-cookie', 'content-encoding', 'content-length'].includes(name)) answered[name] = value;
    });
    await route.fulfill({ status: response.status, headers: answered, body: Buffer.from(await response.arrayBuffer()) });
  });
}

/**
 * A browser without JavaScript, as far as the pages can tell: every script of
 * the site comes back empty. (axe needs JavaScript itself, so the context keeps
 * it on; the page's own script never runs.)
 */
async function withoutPageScripts(context: BrowserContext): Promise<void> {
  await context.route('**/static/js/*.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
}

/** Which parts of the login page a person sees now. */
async function visibleParts(page: Page): Promise<string[]> {
  const parts = ['.hint', '#qr', '#refresh-qr', '#scanned', '#check-confirmed', '#denied', '#new-code', '.countdown', '#check'];
  const shown: string[] = [];
  for (const part of parts) if (await page.locator(part).isVisible()) shown.push(part);
  return shown;
}

/** The buttons and links inside the page's card, as a person sees them. */
async function visibleActions(page: Page): Promise<string[]> {
  return (await page.locator('main a, main button').all()).reduce<Promise<string[]>>(async (shown, action) => {
    const list = await shown;
    if (await action.isVisible()) list.push((await action.getAttribute('id')) ?? (await action.textContent())!.trim());
    return list;
  }, Promise.resolve([]));
}

browserTest('a browser that refuses cookies gets one "allow cookies" page for one QR code, and the next browser on that IP still gets a code', async (t) => {
  // A cap of 3 codes a minute per IP: the old reload loop would have used it up at once.
  const capped = await startServer(t, { env: { ...plainScanLogin, QR_CODES_PER_IP_PER_MINUTE: '3' } });
  for (const lang of ['en', 'zh'] as const) {
    const context = await browser.newContext({ locale: languages[lang], bypassCSP: true });
    t.teardown(() => context.close());
    await refuseCookies(context);
    // In Chinese, the browser says so itself (as Chrome does when cookies are blocked in its settings): no poll is needed to find out.
    if (lang === 'zh') await context.addInitScript({ content: "Object.defineProperty(Navigator.prototype, 'cookieEnabled', { get: () => false });" });
    const page = await context.newPage();
    const problems = watchPageProblems(page);
    // In English the script learns it from the poll: this session did not create the scene.
    if (lang === 'en') problems.expect(403, '/login/poll');
    const loaded: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) loaded.push(new URL(frame.url()).pathname + new URL(frame.url()).search);
    });
    const before = await qrCodesCreated(capped);

    await page.goto(`${capped.url}/login`);
    await page.locator('#cookies-off').waitFor({ timeout: 10_000 });
    t.is(await page.locator('h1').textContent(), lang === 'en' ? 'Please allow cookies' : '请允许本站使用 Cookie');
    t.deepEqual(loaded, ['/login', '/login?cookies=check'], 'the login page once, then the cookies page: no reload loop');
    t.is(await qrCodesCreated(capped), before + 1, 'one qrcode/create');
    t.is(await page.locator('#qr').count(), 0, 'the cookies page shows no code');
    t.is(await page.locator('script').count(), 0, 'and runs nothing that could reload it');
    t.regex((await page.locator('a.lang').getAttribute('href'))!, /^\/login\?cookies=check&lang=/, 'switching language costs no code either');
    await assertAccessible(page, `allow cookies (${lang})`);
    problems.assertClean(`allow cookies (${lang})`);
  }

  // Another person behind the same address, cookies on: a code, not a 429.
  const context = await browser.newContext({ locale: 'zh-CN', bypassCSP: true });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems = watchPageProblems(page);
  await page.goto(`${capped.url}/login`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === '等待扫码…');
  t.true(await page.locator('#qr svg').isVisible());
  t.is(await qrCodesCreated(capped), 3);
  // With cookies, the check is an ordinary login page.
  await page.goto(`${capped.url}/login?cookies=check`);
  t.true(await page.locator('#qr svg').isVisible());
  await assertAccessible(page, 'login after the cookie check, with cookies');
  problems.assertClean('a second browser on the same IP');
});

browserTest('without JavaScript or cookies, the status link leads to the same "allow cookies" page', async (t) => {
  const context = await browser.newContext({ locale: 'en-US', bypassCSP: true });
  t.teardown(() => context.close());
  await refuseCookies(context);
  // Routes added later are tried first: the scripts are empty, everything else goes through refuseCookies.
  await withoutPageScripts(context);
  const page = await context.newPage();
  const problems = watchPageProblems(page);
  problems.expect(403, '/login/status');
  await page.goto(`${server.url}/login`);
  await page.click('#check');
  await page.locator('#cookies-off').waitFor();
  t.regex(page.url(), /\/login\/status\?scene=/);
  t.is(await page.locator('h1').textContent(), 'Please allow cookies');
  await assertAccessible(page, 'allow cookies, without JavaScript');
  problems.assertClean('allow cookies, without JavaScript');
});

browserTest('one state at a time: waiting, scanned (the number only), denied (one button), expired (one button); with the script and without', async (t) => {
  const openid = await createPersona(server, 'states');
  const desk = await (await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 }, bypassCSP: true })).newPage();
  t.teardown(() => desk.context().close());
  const deskProblems = watchPageProblems(desk);
  // The same browser session without JavaScript: the states as /login/status renders them.
  const plain = await (await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 }, isMobile: true, bypassCSP: true })).newPage();
  t.teardown(() => plain.context().close());
  await withoutPageScripts(plain.context());
  const plainProblems = watchPageProblems(plain);

  await desk.goto(`${server.url}/login`);
  await desk.waitForFunction(() => document.getElementById('status')?.textContent === '等待扫码…');
  t.deepEqual(await visibleParts(desk), ['.hint', '#qr', '.countdown'], 'waiting: the code and its countdown; the script checks by itself');
  const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;
  await plain.context().addCookies(await desk.context().cookies());
  const statusPath = `/login/status?scene=${encodeURIComponent(scene)}`;
  await plain.goto(`${server.url}${statusPath}`);
  t.deepEqual(await visibleParts(plain), ['.hint', '#qr', '.countdown', '#check'], 'waiting, without the script: a link to check');

  const reply = await phoneFor(server).scan(openid, scene, 'ticket', false);
  await desk.locator('#scanned').waitFor({ state: 'visible', timeout: 10_000 });
  t.deepEqual(await visibleParts(desk), ['#scanned'], 'scanned: the number to pick, nothing else');
  t.regex((await desk.locator('#scanned').textContent())!, /扫码成功[\s\S]*请在手机微信里点开确认链接/);
  t.regex((await desk.locator('#pick-number').textContent())!, /^\d\d$/);
  t.deepEqual(await visibleActions(desk), [], 'no refresh link, no check link: the page moves on by itself');
  await assertAccessible(desk, 'login scanned (zh, with the script)');
  await plain.goto(`${server.url}${statusPath}`);
  t.deepEqual(await visibleParts(plain), ['#scanned', '#check-confirmed'], 'scanned, without the script: the number and one link to go on');
  t.is(await plain.locator('#pick-number').textContent(), await desk.locator('#pick-number').textContent());
  await assertAccessible(plain, 'login scanned (en, without the script)');

  const confirm = await openInWechat(server, openid, confirmPathOf(server, reply.replyText));
  t.is((await answer(confirm.phone, confirm.html, 'deny')).status, 200);
  await desk.locator('#denied').waitFor({ state: 'visible', timeout: 10_000 });
  t.deepEqual(await visibleParts(desk), ['#denied', '#new-code'], 'denied: the refusal and one button');
  t.deepEqual(await visibleActions(desk), ['new-code']);
  await assertAccessible(desk, 'login denied (zh, with the script)');
  await plain.goto(`${server.url}${statusPath}`);
  t.deepEqual(await visibleParts(plain), ['#denied', '#new-code']);
  await assertAccessible(plain, 'login denied (en, without the script)');

  // Expired: a fake clock runs the code out in the browser; the server renders the same state for a dead code.
  const clocked = await (await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 }, isMobile: true, bypassCSP: true })).newPage();
  t.teardown(() => clocked.context().close());
  const clockedProblems = watchPageProblems(clocked);
  await clocked.clock.install();
  await clocked.goto(`${server.url}/login`);
  // Paused just past the code's end, before the automatic renewal (1.5 s later) leaves the page. The pause is
  // set a few seconds ahead, so that a busy machine's delay between reading the clock and pausing it cannot
  // put the pause in the past; the run then ends at the same moment, half a second after the code's end.
  const pageNow = await clocked.evaluate(() => Date.now());
  await clocked.clock.pauseAt(pageNow + 3000);
  await clocked.clock.runFor(server.config.qrExpireSeconds * 1000 + 500 - 3000);
  await clocked.locator('#refresh-qr').waitFor({ state: 'visible' });
  t.deepEqual(await visibleParts(clocked), ['.hint', '#qr', '#refresh-qr'], 'expired: the dead code under one refresh button, no countdown');
  t.deepEqual(await visibleActions(clocked), ['refresh-qr']);
  t.is(await clocked.locator('#status').textContent(), 'This code has expired. Get a new one.', 'said to screen readers too');
  // axe needs timers, which the paused clock holds: the idle-tab test checks this state once renewals are over.

  deskProblems.assertClean('desktop');
  plainProblems.assertClean('without the script');
  clockedProblems.assertClean('fake clock');
});

browserTest('without the script, a code that ran out is shown expired with one refresh button', async (t) => {
  const shortLived = await startServer(t, { env: { ...plainScanLogin, QR_EXPIRE_SECONDS: '1' } });
  const page = await (await browser.newContext({ locale: 'zh-CN', bypassCSP: true })).newPage();
  t.teardown(() => page.context().close());
  await withoutPageScripts(page.context());
  const problems = watchPageProblems(page);
  await page.goto(`${shortLived.url}/login`);
  const scene = (await page.locator('#qr').getAttribute('data-scene'))!;
  // Look again until the server says the code is dead (a second).
  await page.waitForFunction(() => Date.now() > Date.parse(document.getElementById('qr')!.getAttribute('data-expires-at')!));
  await page.click('#check');
  await page.waitForURL(`**/login/status?scene=${encodeURIComponent(scene)}`);
  t.is(await page.locator('#login-state').getAttribute('data-state'), 'expired');
  t.deepEqual(await visibleParts(page), ['.hint', '#qr', '#refresh-qr']);
  t.regex((await page.locator('.qr-expired').textContent())!, /二维码已过期/);
  t.deepEqual(await visibleActions(page), ['refresh-qr']);
  await assertAccessible(page, 'login expired (zh, without the script)');
  await page.click('#refresh-qr');
  t.not(await page.locator('#qr').getAttribute('data-scene'), scene, 'the button gets a new code');
  problems.assertClean('expired without the script');
});

browserTest('an idle tab renews its code by itself three times, then waits for a click', async (t) => {
  const shortLived = await startServer(t, { env: { ...plainScanLogin, QR_EXPIRE_SECONDS: '1' } });
  const page = await (await browser.newContext({ locale: 'en-US', bypassCSP: true })).newPage();
  t.teardown(() => page.context().close());
  const problems = watchPageProblems(page);
  await page.goto(`${shortLived.url}/login`);
  // Three renewals of a one-second code (1.5 s apart each): the last page says it has none left and stops.
  await page.locator('#qr[data-auto-renewals-left="0"]').waitFor({ state: 'attached', timeout: 20_000 });
  await page.locator('#refresh-qr').waitFor({ state: 'visible', timeout: 10_000 });
  t.is(await page.locator('#login-state').getAttribute('data-state'), 'expired');
  t.is(await qrCodesCreated(shortLived), 4, 'the first code and three renewals');
  t.is(new URL(page.url()).search, '', 'the renewal address is not kept: a reload by hand is the visitor asking');
  await assertAccessible(page, 'login expired after the automatic renewals');

  // The visitor asks: a new code, and the renewals start again.
  await page.click('#refresh-qr');
  await page.waitForFunction(() => document.getElementById('login-state')?.getAttribute('data-state') === 'pending');
  t.is(await page.locator('#qr').getAttribute('data-auto-renewals-left'), '3');
  t.is(await qrCodesCreated(shortLived), 5);
  problems.assertClean('idle tab');
});

browserTest('a browser signed out from another device is told so once, on the login page', async (t) => {
  const plain = await startServer(t, { env: plainScanLogin });
  const other = await logInNewUser(plain, 'o_told', '13600000024');
  // This browser logs in as the same person (a returning user: the scan alone does it).
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 }, isMobile: true, bypassCSP: true });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems = watchPageProblems(page);
  await page.goto(`${plain.url}/login`);
  const scene = (await page.locator('#qr').getAttribute('data-scene'))!;
  await phoneFor(plain).scan('o_told', scene, 'ticket', true);
  await page.waitForURL('**/profile', { timeout: 10_000 });
  const mine = (await page.locator('.session.current').getAttribute('data-session-id'))!;

  // The other device ends it from its profile.
  const csrf = csrfOf(await (await other.get('/profile')).text());
  t.is((await other.postForm('/sessions/revoke', { session: mine, _csrf: csrf })).status, 303);
  await page.reload();
  await page.waitForURL('**/login');
  t.is(await page.locator('#session-ended').textContent(), 'This session was ended from another device. Scan the code to log in again.');
  await assertAccessible(page, 'login, told the session was ended (en)');
  await page.reload();
  t.is(await page.locator('#session-ended').count(), 0, 'said once');
  problems.assertClean('told the session was ended');
});
