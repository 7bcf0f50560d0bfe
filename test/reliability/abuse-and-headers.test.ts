import net from 'node:net';
import test from 'ava';
import { BrowserClient, csrfOf } from '../helpers/browser-client.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { startServer, type TestServer, plainScanLogin } from '../helpers/server.js';

/** A browser that has scanned and now sits on /bind; returns it with its CSRF token. */
async function onBindPage(server: TestServer, openid: string) {
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan(openid, scene, 'ticket', false);
  await poll(browser, scene);
  return { browser, csrf: csrfOf(await (await browser.get('/bind')).text()) };
}

test('/bind/code: one code per phone per minute, then 429 with a message', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const { browser, csrf } = await onBindPage(server, 'o_resend');
  t.is((await browser.postForm('/bind/code', { phone: '13700000001', _csrf: csrf })).status, 200);
  const again = await browser.postForm('/bind/code', { phone: '13700000001', _csrf: csrf });
  t.is(again.status, 429);
  t.regex(await again.text(), /发送太频繁/);
  t.is(server.handle.smsInbox.list().length, 1);
});

test('/bind/code: hourly caps per phone and per IP (the IP cap counts every request for a code)', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, SMS_RESEND_INTERVAL_SECONDS: '0', SMS_MAX_PER_PHONE_PER_HOUR: '2', SMS_MAX_PER_IP_PER_HOUR: '4' } });
  const { browser, csrf } = await onBindPage(server, 'o_caps');
  const send = (phone: string) => browser.postForm('/bind/code', { phone, _csrf: csrf }).then((response) => response.status);
  t.deepEqual([await send('13700000002'), await send('13700000002'), await send('13700000002')], [200, 200, 429]);
  t.deepEqual([await send('13700000003'), await send('13700000004')], [200, 429]);
});

test('/bind: attempts per IP are capped with 429', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, BIND_MAX_ATTEMPTS_PER_IP_PER_HOUR: '3' } });
  const { browser, csrf } = await onBindPage(server, 'o_bindcap');
  await browser.postForm('/bind/code', { phone: '13700000005', _csrf: csrf });
  const statuses = [];
  for (let attempt = 0; attempt < 4; attempt += 1) {
    statuses.push((await browser.postForm('/bind', { phone: '13700000005', code: '000000', _csrf: csrf })).status);
  }
  t.deepEqual(statuses.slice(3), [429]);
  t.true(statuses.slice(0, 3).every((status) => status === 422 || status === 200 || status === 303));
});

test('RATE_LIMITS=off turns the limits off', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, RATE_LIMITS: 'off' } });
  const { browser, csrf } = await onBindPage(server, 'o_nolimits');
  t.is((await browser.postForm('/bind/code', { phone: '13700000006', _csrf: csrf })).status, 200);
  t.is((await browser.postForm('/bind/code', { phone: '13700000006', _csrf: csrf })).status, 200);
});

test('pages carry a CSP with no inline script, deny framing, and set a Referrer-Policy', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  for (const path of ['/login', '/simulator', '/nowhere']) {
    const response = await new BrowserClient(server.url).get(path);
    const csp = response.headers.get('content-security-policy')!;
    t.regex(csp, /script-src 'self'(;|$)/, path);
    t.notRegex(csp, /unsafe-inline|unsafe-eval/, path);
    t.regex(csp, /frame-ancestors 'none'/, path);
    t.is(response.headers.get('x-frame-options'), 'DENY', path);
    t.is(response.headers.get('referrer-policy'), 'same-origin', path);
    t.is(response.headers.get('x-content-type-options'), 'nosniff', path);
    const html = await response.text();
    t.deepEqual(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g), null, `${path} has no inline script`);
    t.notRegex(html, /\son(click|load|error|submit)=/i, `${path} has no inline handlers`);
  }
});

test('cookies are httpOnly and SameSite=Lax; Secure behind https', async (t) => {
  const plain = await startServer(t, { env: plainScanLogin });
  const plainCookie = (await fetch(`${plain.url}/login`)).headers.getSetCookie().join('; ');
  t.regex(plainCookie, /httponly/i);
  t.regex(plainCookie, /samesite=lax/i);
  t.notRegex(plainCookie, /secure/i);

  const https = await startServer(t, { env: { ...plainScanLogin, PUBLIC_URL: 'https://login.example' } });
  for (const headers of [{ 'x-forwarded-proto': 'https' }, {}] as Record<string, string>[]) {
    // The simulator page sets the session cookie without calling WeChat (login.example is not reachable here).
    const response = await fetch(`${https.url}/simulator`, { headers });
    t.is(response.status, 200);
    t.regex(response.headers.getSetCookie().join('; '), /;\s*secure/i);
  }
});

test('self-links stay on this site: the language switch of //evil.example/x is /evil.example/x, never //evil.example/x', async (t) => {
  const server = await startServer(t);
  const { hostname, port } = new URL(server.url);
  // fetch() would normalize these paths; the request line must reach the server as an attacker sends it.
  const rawGet = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      let response = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => (response += chunk));
      socket.on('end', () => resolve(response));
      socket.on('error', reject);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    });
  for (const [path, expected] of [
    ['//evil.example/x', '/evil.example/x?lang=en'],
    ['/\\evil.example/x', '/evil.example/x?lang=en'],
    ['///\\\\evil.example', '/evil.example?lang=en'],
  ]) {
    const response = await rawGet(path);
    t.regex(response, /^HTTP\/1\.1 404/, path);
    const href = response.match(/<a class="lang" href="([^"]*)"/)?.[1];
    t.is(href, expected, path);
    t.notRegex(response, /href="(\/\/|\/\\|\\)/, `no link in the page of ${path} leaves the site`);
  }
  // Ordinary pages keep their path.
  t.true((await rawGet('/login')).includes('<a class="lang" href="/login?lang=en"'));
});
