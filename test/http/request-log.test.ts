import test from 'ava';
import { loadConfig, ConfigError } from '../../src/config.js';
import { csrfOf } from '../helpers/browser-client.js';
import { captureLogs } from '../helpers/log-capture.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { startSmsReceiver } from '../helpers/sms-receiver.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

type T = { teardown(fn: () => unknown): void };

async function setup(t: T, env: Record<string, string> = {}, level: 'debug' | 'info' | 'warn' = 'debug') {
  const capture = captureLogs(level);
  const server = await startServer(t, { env: { ...plainScanLogin, ...env }, logger: capture.logger });
  return { server, ...capture };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('X-Request-Id: a valid incoming id is kept, anything else is replaced, and every answer carries one', async (t) => {
  const { server } = await setup(t);
  const kept = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'lb-1234.abc_DEF-9' } });
  t.is(kept.headers.get('x-request-id'), 'lb-1234.abc_DEF-9');

  const longest = 'a'.repeat(128);
  t.is((await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': longest } })).headers.get('x-request-id'), longest);
  for (const bad of ['a'.repeat(129), 'has space', 'semi;colon', 'ünïcode', '']) {
    const response = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': bad } });
    t.regex(response.headers.get('x-request-id') ?? '', uuid, `replaced: ${JSON.stringify(bad)}`);
  }
  const fresh = await fetch(`${server.url}/healthz`);
  t.regex(fresh.headers.get('x-request-id') ?? '', uuid);
  t.not(fresh.headers.get('x-request-id'), (await fetch(`${server.url}/healthz`)).headers.get('x-request-id'), 'a new id each time');

  // Error answers too: 404 page, 400 JSON, 401 callback.
  for (const path of ['/no-such-page', '/login/poll', '/wechat/callback?signature=x&timestamp=1&nonce=2&echostr=e']) {
    const response = await fetch(server.url + path);
    t.true(response.status >= 400, path);
    t.regex(response.headers.get('x-request-id') ?? '', uuid, path);
  }
});

test('one access line per request with method, route, status, duration and the request id; every line of a request carries its id', async (t) => {
  const { server, lines } = await setup(t);
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan('o_logs', scene, 'ticket', false);
  t.is((await poll(browser, scene)).body.status, 'bind');
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  const sent = await browser.request('/bind/code', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'bind-code-request-1' },
    body: new URLSearchParams({ phone: '13700137000', _csrf: csrf }).toString(),
  });
  t.is(sent.status, 200);
  t.is(sent.headers.get('x-request-id'), 'bind-code-request-1');

  const access = lines().filter((line) => line.msg === 'request');
  const pollLine = access.find((line) => line.path === '/login/poll');
  t.like(pollLine, { level: 'info', method: 'GET', route: '/login/poll', status: 200 });
  t.is(typeof pollLine?.durationMs, 'number');
  t.regex(String(pollLine?.requestId), uuid);
  t.regex(String(pollLine?.time), /^\d{4}-\d\d-\d\dT/);

  // The request's own lines (the console SMS provider's, here) carry the same id as its access line.
  const ofBindCode = lines().filter((line) => line.requestId === 'bind-code-request-1');
  t.deepEqual(
    ofBindCode.map((line) => line.msg),
    ['sms (console provider)', 'request'],
  );
  t.like(ofBindCode[1], { method: 'POST', route: '/bind/code', status: 200 });
  // Exactly one access line per request.
  t.is(access.filter((line) => line.requestId === 'bind-code-request-1').length, 1);
  // Lines outside any request (none here) have no id; lines of other requests have theirs.
  t.true(lines().every((line) => typeof line.requestId === 'string'));
  // An unmatched path is logged with route null and its path.
  await fetch(`${server.url}/nowhere`);
  t.like(lines().find((line) => line.path === '/nowhere'), { route: null, status: 404 });
});

test('LOG_LEVEL is validated, and a higher level drops the access lines', async (t) => {
  t.is(loadConfig({ LOG_LEVEL: 'debug' }).logLevel, 'debug');
  t.is(loadConfig({}).logLevel, 'info');
  t.is(loadConfig({ LOG_LEVEL: 'WARN' }).logLevel, 'warn');
  const error = t.throws(() => loadConfig({ LOG_LEVEL: 'verbose' }), { instanceOf: ConfigError });
  t.regex(error!.message, /LOG_LEVEL must be one of debug, info, warn, error/);

  const { server, lines } = await setup(t, {}, 'warn');
  await fetch(`${server.url}/login`);
  t.deepEqual(lines(), []);
  // Probes log at debug only: at info they are silent.
  const info = await setup(t, {}, 'info');
  await fetch(`${info.server.url}/healthz`);
  await fetch(`${info.server.url}/login`);
  t.deepEqual(
    // The access lines (other info lines, such as "login qrcode created", carry no path).
    info.lines().flatMap((line) => (line.path ? [line.path] : [])),
    ['/simulator/api/cgi-bin/stable_token', '/simulator/api/cgi-bin/qrcode/create', '/login'],
  );
});

test('secrets sent in requests never appear in the logs', async (t) => {
  const webhook = await startSmsReceiver(t);
  const { server, raw, lines } = await setup(t, { SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: webhook.url });
  const secrets = {
    bearer: 'bearer-secret-0a1b2c3d4e5f',
    cookie: 'cookie-secret-9f8e7d6c5b4a',
    echostr: 'echostr-secret-5566778899',
    oauthCode: 'oauth-code-secret-1122334455',
    typedCode: '918273',
  };

  // Authorization and a cookie of our own.
  await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${secrets.bearer}`, cookie: `other=${secrets.cookie}` } });
  // The callback's URL check: signature and echostr in the query.
  const query = signedQuery({ extra: { echostr: secrets.echostr } });
  const checked = await fetch(`${server.url}/wechat/callback?${query}`);
  t.is(await checked.text(), secrets.echostr);
  // A push with a msg_signature (refused: no AES key here, but logged all the same).
  const pushQuery = signedQuery({ extra: { encrypt_type: 'aes', msg_signature: 'msgsig-secret-abcdef0123' } });
  await postCallback(server.url, pushQuery, eventXml({ openid: 'o_x', event: 'subscribe' }));
  // An OAuth code in the query.
  await fetch(`${server.url}/auth/wechat/callback?code=${secrets.oauthCode}&state=nothing`);

  // A whole login with a phone binding: the session cookie, the CSRF token, the SMS code sent and the one typed.
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan('o_secret', scene, 'ticket', false);
  await poll(browser, scene);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  t.is((await browser.postForm('/bind/code', { phone: '13500135000', _csrf: csrf })).status, 200);
  const realCode = webhook.received[0].code;
  t.is((await browser.postForm('/bind', { phone: '13500135000', code: secrets.typedCode === realCode ? '000000' : secrets.typedCode, _csrf: csrf })).status, 422);
  const bound = await browser.postForm('/bind', { phone: '13500135000', code: realCode, _csrf: csrf });
  t.is(bound.status, 303);
  await browser.request('/api/me', { headers: { 'x-csrf-token': csrf } });
  const sessionCookieValues = browser.cookieHeader().split('; ').map((pair) => pair.slice(pair.indexOf('=') + 1));

  const text = raw();
  t.true(lines().length > 10, 'the requests were logged');
  const signature = query.get('signature')!;
  for (const [name, secret] of Object.entries({ ...secrets, signature, pushSignature: pushQuery.get('signature')!, realCode, csrf })) {
    t.false(text.includes(secret), `${name} is not in the log`);
  }
  for (const value of sessionCookieValues) t.false(text.includes(value), 'the session cookie is not in the log');
  t.false(text.includes('msgsig-secret-abcdef0123'));
  // The simulator's access_token travels in a query too.
  const qrcodeCreate = lines().find((line) => line.path === '/simulator/api/cgi-bin/qrcode/create');
  t.is((qrcodeCreate?.query as { access_token?: string }).access_token, '[redacted]');
  t.is((lines().find((line) => line.path === '/api/me')?.headers as { authorization?: string }).authorization, '[redacted]');
});

test('a code, token or hint that arrives in the Referer, or in a query parameter of any secret name, never reaches the log', async (t) => {
  const { server, raw, lines } = await setup(t, {});
  const secrets = {
    confirmToken: 'confirm-token-secret-77aa88bb',
    oauthCode: 'oauth-code-in-referer-5f5f5f',
    idTokenHint: 'eyJhbGciOiJSUzI1NiJ9.eyJwaG9uZV9udW1iZXIiOiIrODYxMzgwMDEzODAwMCJ9.sig-secret',
    refresh: 'refresh-token-secret-4d4d4d',
    verifier: 'code-verifier-secret-3c3c3c',
  };
  // The confirm page's stylesheet, and the OAuth return's favicon: the browser sends the page's whole URL.
  await fetch(`${server.url}/static/css/app.css`, { headers: { referer: `${server.url}/login/confirm?t=${secrets.confirmToken}` } });
  await fetch(`${server.url}/favicon.ico`, { headers: { referer: `${server.url}/auth/wechat/callback?code=${secrets.oauthCode}&state=s#x` } });
  // A logout's id_token_hint (with the phone number inside), and names no list had foreseen.
  await fetch(`${server.url}/oidc/session/end?id_token_hint=${secrets.idTokenHint}&post_logout_redirect_uri=x`);
  await fetch(`${server.url}/login?refresh_token=${secrets.refresh}&code_verifier=${secrets.verifier}`);

  const text = raw();
  for (const [name, secret] of Object.entries(secrets)) t.false(text.includes(secret), `${name} is not in the log`);
  const favicon = lines().find((line) => line.path === '/favicon.ico');
  t.is((favicon?.headers as { referer?: string }).referer, `${server.url}/auth/wechat/callback?[redacted]`, 'where it came from, without its query');
  const logout = lines().find((line) => line.path === '/oidc/session/end');
  t.like(logout?.query, { id_token_hint: '[redacted]', post_logout_redirect_uri: 'x' });
});
