import test from 'ava';
import { BrowserClient } from '../helpers/browser-client.js';
import { logInNewUser } from '../helpers/login-flow.js';
import { followToApplication, oidcEnv, testClient } from '../helpers/oidc-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';

/**
 * Issue 26, findings 2 and 3: a cookie planted by a sibling subdomain or a
 * plain-http page (session fixation, a planted device) must not be ours. On
 * https every cookie we set is named `__Host-` (Secure, Path=/, no Domain),
 * which browsers accept only from this very host over https; the OpenID
 * Provider's path-scoped interaction cookies are `__Secure-`.
 */
function attributesOf(line: string) {
  const [pair, ...rest] = line.split(';').map((part) => part.trim());
  const attributes = rest.map((part) => part.toLowerCase());
  return { name: pair.slice(0, pair.indexOf('=')), attributes };
}

test('on https, every cookie of a whole login is __Host-: Secure, Path=/, no Domain', async (t) => {
  const server = await startServer(t, { env: plainScanLogin, publicHttps: true });
  const browser = await logInNewUser(server, 'o_host_cookies', '13700137001');
  t.is((await browser.get('/api/me')).status, 200);
  const names = new Set<string>();
  for (const line of browser.setCookieLines) {
    const { name, attributes } = attributesOf(line);
    names.add(name);
    t.true(name.startsWith('__Host-'), `${name} is __Host-`);
    t.true(attributes.includes('secure'), `${name} is Secure`);
    t.true(attributes.includes('path=/'), `${name} has Path=/`);
    t.false(attributes.some((attribute) => attribute.startsWith('domain=')), `${name} has no Domain`);
  }
  t.deepEqual([...names].sort(), ['__Host-wl.device', '__Host-wl.device.sig', '__Host-wl.sid', '__Host-wl.sid.sig']);
});

test('on https, the same cookies under their plain names (what a sibling subdomain can plant) are nobody', async (t) => {
  const server = await startServer(t, { env: plainScanLogin, publicHttps: true });
  const browser = await logInNewUser(server, 'o_planted', '13700137002');
  const planted = new BrowserClient(server.url);
  planted.setCookies(browser.cookieHeader().replaceAll('__Host-', ''));
  t.is((await planted.get('/api/me')).status, 401);
  t.is((await browser.get('/api/me')).status, 200);
});

test('over plain http (development) the names carry no prefix, which browsers would refuse there', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const browser = await logInNewUser(server, 'o_plain_cookies', '13700137003');
  t.true(browser.setCookieLines.every((line) => !line.startsWith('__')));
  t.regex(browser.cookieHeader(), /(^|; )wl\.sid=/);
});

test("on https, the OpenID Provider's cookies are __Host- or, for its path-scoped interaction cookies, __Secure-", async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv }, publicHttps: true });
  const browser = new BrowserClient(server.url);
  const authorize = new URLSearchParams({
    client_id: testClient.client_id,
    response_type: 'code',
    scope: 'openid phone',
    redirect_uri: testClient.redirect_uris[0],
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    state: 'state-1',
    nonce: 'nonce-1',
  });
  const { response } = await followToApplication(browser, `/oidc/auth?${authorize}`);
  t.is(response.status, 200, 'the QR page');
  const names = browser.setCookieLines.map((line) => attributesOf(line).name);
  t.true(names.includes('__Secure-oidc.interaction'), names.join(', '));
  t.true(names.includes('__Secure-oidc.resume'), names.join(', '));
  for (const line of browser.setCookieLines) {
    const { name, attributes } = attributesOf(line);
    t.true(name.startsWith('__Host-') || name.startsWith('__Secure-oidc.'), name);
    t.true(attributes.includes('secure'), `${name} is Secure`);
    if (name.startsWith('__Host-')) t.true(attributes.includes('path=/') && !attributes.some((attribute) => attribute.startsWith('domain=')), name);
  }
});
