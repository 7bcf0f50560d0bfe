import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { bindOnDesk } from '../helpers/browser-flow.js';
import { browserTest, launchChromium } from '../helpers/chromium.js';
import { phoneFor } from '../helpers/login-flow.js';
import { watchPageProblems } from '../helpers/page-problems.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { createTestClock } from '../helpers/test-clock.js';

// oidc-client-ts (npm, unchanged), the usual library of single-page apps, as a public client on another origin.
const library = readFileSync(path.resolve(__dirname, '../../node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js'));

/** The single-page app: a page that logs in with oidc-client-ts and shows who came back. */
function appPage(issuer: string, origin: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SPA</title></head><body><main><h1>SPA</h1>
<button id="login">Log in</button><button id="again">Log in again (max_age=1)</button><pre id="result"></pre></main>
<script src="/oidc-client-ts.js"></script>
<script>
const manager = new oidc.UserManager({ authority: ${JSON.stringify(issuer)}, client_id: 'spa', redirect_uri: ${JSON.stringify(`${origin}/callback`)}, response_type: 'code', scope: 'openid phone profile', loadUserInfo: true });
const show = (text) => { document.getElementById('result').textContent = text; };
if (location.pathname === '/callback') manager.signinRedirectCallback().then((user) => show(JSON.stringify({ sub: user.profile.sub, phone: user.profile.phone_number, authTime: JSON.parse(atob(user.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).auth_time })), (error) => show('error: ' + error.message));
document.getElementById('login').addEventListener('click', () => manager.signinRedirect());
document.getElementById('again').addEventListener('click', () => manager.signinRedirect({ max_age: 1 }));
</script></body></html>`;
}

browserTest('oidc-client-ts in a single-page app on another origin logs a person in: PKCE, no secret, the token and userinfo read cross-origin', async (t) => {
  let origin = '';
  let issuer = '';
  const app = http.createServer((request, response) => {
    if (request.url === '/oidc-client-ts.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(library);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(appPage(issuer, origin));
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => app.close(() => resolve())));
  origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  const clock = createTestClock();
  const server = await startServer(t, {
    clock: clock.now,
    env: { ...plainScanLogin, OIDC_CLIENTS: JSON.stringify([{ client_id: 'spa', token_endpoint_auth_method: 'none', redirect_uris: [`${origin}/callback`] }]) },
  });
  issuer = `${server.url}/oidc`;

  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const desk = await (await browser.newContext()).newPage();
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
  const problems = watchPageProblems(desk);

  // The first login happens two seconds ago on the server's clock (the provider reads auth_time against real time).
  clock.advance(-2000);
  await desk.goto(origin);
  await desk.click('#login');
  await desk.waitForSelector('#qr');
  const scene = (await desk.locator('#qr').getAttribute('data-scene'))!;
  await phoneFor(server).scan('o_spa_person', scene, 'ticket', false);
  await bindOnDesk(desk, phone, server.url, '13800138071');
  await desk.waitForURL(`${origin}/callback**`);
  await desk.waitForFunction(() => (document.getElementById('result')?.textContent ?? '') !== '');
  const result = JSON.parse((await desk.locator('#result').textContent())!) as { sub: string; phone: string; authTime?: number };
  t.truthy(result.sub);
  t.is(result.phone, '+8613800138071', 'userinfo, read cross-origin');

  // Now (the login two seconds old), the app asks for one at most a second old: the QR page again, a new scan.
  clock.advance(2000);
  await desk.goto(origin);
  await desk.click('#again');
  await desk.waitForURL(/\/login\?fresh=1&next=%2Foidc%2Finteraction%2F/);
  const again = (await desk.locator('#qr').getAttribute('data-scene'))!;
  await phoneFor(server).scan('o_spa_person', again, 'ticket', true);
  await desk.waitForURL(`${origin}/callback**`);
  await desk.waitForFunction(() => (document.getElementById('result')?.textContent ?? '') !== '');
  const relogged = JSON.parse((await desk.locator('#result').textContent())!) as { sub: string; authTime: number };
  t.is(relogged.sub, result.sub);
  t.true(relogged.authTime >= Math.floor(server.now() / 1000) - 1, `auth_time ${relogged.authTime} is the new login`);
  t.true(relogged.authTime > (result.authTime ?? 0), `auth_time moved from ${result.authTime} to ${relogged.authTime}`);
  problems.assertClean('the single-page app and the login');
});
