import test from 'ava';
import { BrowserClient, csrfOf } from '../helpers/browser-client.js';
import { logInNewUser, openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { sampleValue } from '../helpers/metrics-text.js';
import { plainScanLogin, startServer, type TestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait-until.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

type T = { teardown(fn: () => unknown): void };

async function setup(t: T, env: Record<string, string> = {}) {
  return startServer(t, { env: { ...plainScanLogin, LOGIN_POLL_TIMEOUT_MS: '10000', ...env } });
}

async function readMetrics(server: TestServer, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

test('after a scripted login, /metrics shows each metric with the right count', async (t) => {
  const server = await setup(t);
  const before = await readMetrics(server);
  t.is(before.status, 200);
  t.regex(before.type ?? '', /^text\/plain; version=0\.0\.4/);
  t.is(sampleValue(before.text, 'wechat_login_held_polls'), 0);

  // A first login: scan (no phone yet), bind with an SMS code.
  const browser = await logInNewUser(server, 'o_metrics', '13800138001');
  t.is((await browser.get('/api/me')).status, 200);

  // A returning login, with the poll held while the scan arrives.
  const { browser: second, scene } = await openLoginPage(server);
  const held = poll(second, scene);
  await waitUntil(async () => sampleValue((await readMetrics(server)).text, 'wechat_login_held_polls') === 1);
  await phoneFor(server).scan('o_metrics', scene, 'ticket', true);
  t.is((await held).body.status, 'success');

  // A retried delivery, a forged callback, an SMS asked for too soon, an OAuth code WeChat refuses.
  const { browser: third, scene: thirdScene } = await openLoginPage(server);
  const delivery = eventXml({ openid: 'o_retry', event: 'SCAN', eventKey: thirdScene, createTime: 1_700_000_000 });
  const query = signedQuery();
  t.is((await postCallback(server.url, query, delivery)).status, 200);
  t.is((await postCallback(server.url, query, delivery)).status, 200);
  t.is((await postCallback(server.url, signedQuery({ token: 'wrong-token' }), delivery)).status, 401);
  t.is((await poll(third, thirdScene)).body.status, 'bind');
  const csrf = csrfOf(await (await third.get('/bind')).text());
  t.is((await third.postForm('/bind/code', { phone: '13800138002', _csrf: csrf })).status, 200);
  t.is((await third.postForm('/bind/code', { phone: '13800138002', _csrf: csrf })).status, 429);
  const oauthBrowser = new BrowserClient(server.url);
  const authorize = new URL((await oauthBrowser.get('/auth/wechat')).headers.get('location')!);
  const refused = await oauthBrowser.get(`/auth/wechat/callback?code=bogus-code&state=${authorize.searchParams.get('state')}`);
  t.is(refused.status, 400);

  const { text } = await readMetrics(server);
  const value = (name: string, labels?: Record<string, string>) => sampleValue(text, name, labels);
  t.is(value('wechat_login_held_polls'), 0, 'no poll is held any more');
  t.is(value('wechat_login_qrcodes_created_total'), 3);
  t.is(value('wechat_login_scans_total', { outcome: 'bind' }), 2);
  t.is(value('wechat_login_scans_total', { outcome: 'logged_in' }), 1);
  t.is(value('wechat_login_logins_total', { method: 'qrcode' }), 2);
  t.is(value('wechat_login_callback_duration_seconds_count'), 5, 'every POST is timed, refused ones too');
  t.is(value('wechat_login_callback_duration_seconds_bucket', { le: '5' }), 5);
  t.is(value('wechat_login_callback_duplicate_deliveries_total'), 1);
  t.is(value('wechat_login_callback_refused_total', { reason: 'invalid_signature' }), 1);
  t.is(value('wechat_login_sms_sent_total'), 2);
  t.is(value('wechat_login_sms_refused_total', { reason: 'resend_too_soon' }), 1);
  t.is(value('wechat_login_access_token_refreshes_total', { forced: 'false' }), 1);
  t.is(value('wechat_login_wechat_api_calls_total', { api: '/cgi-bin/stable_token' }), 1);
  t.is(value('wechat_login_wechat_api_calls_total', { api: '/cgi-bin/qrcode/create' }), 3);
  t.is(value('wechat_login_wechat_api_calls_total', { api: '/cgi-bin/user/info' }), 2, 'one per newcomer, for the unionid');
  t.is(value('wechat_login_wechat_api_calls_total', { api: '/sns/oauth2/access_token' }), 1);
  t.is(value('wechat_login_wechat_api_errors_total', { api: '/sns/oauth2/access_token', errcode: '40029' }), 1);
  t.is(value('wechat_login_wechat_api_errors_total', { api: '/cgi-bin/qrcode/create', errcode: '40001' }), undefined);
  // Declared before anything counts it (the confirmation flow fills it in).
  t.regex(text, /^# TYPE wechat_login_confirmations_total counter$/m);
  // prom-client's default process metrics, unprefixed as Node.js dashboards expect them; no prefixed copy.
  t.notRegex(text, /^wechat_login_(process|nodejs)_/m);
  t.true((value('process_cpu_user_seconds_total') ?? -1) >= 0);
  t.true((value('nodejs_heap_size_used_bytes') ?? 0) > 0);
});

test('each app has its own registry: two servers in one process count apart', async (t) => {
  const [one, two] = await Promise.all([setup(t), setup(t)]);
  await openLoginPage(one);
  await openLoginPage(one);
  await openLoginPage(two);
  t.is(sampleValue((await readMetrics(one)).text, 'wechat_login_qrcodes_created_total'), 2);
  t.is(sampleValue((await readMetrics(two)).text, 'wechat_login_qrcodes_created_total'), 1);
});

test('METRICS_TOKEN: a Bearer token is required when set', async (t) => {
  const token = 'metrics-token-0123456789abcdef';
  const server = await setup(t, { METRICS_TOKEN: token });
  const missing = await readMetrics(server);
  t.is(missing.status, 401);
  t.deepEqual(JSON.parse(missing.text), { error: 'unauthorized' });
  t.is((await readMetrics(server, { authorization: 'Bearer wrong-token-0123456789abcd' })).status, 401);
  t.is((await readMetrics(server, { authorization: token })).status, 401, 'the scheme is needed');
  const allowed = await readMetrics(server, { authorization: `Bearer ${token}` });
  t.is(allowed.status, 200);
  t.regex(allowed.text, /wechat_login_held_polls 0/);
});

const productionEnv = {
  NODE_ENV: 'production',
  SMS_PROVIDER: 'webhook',
  SMS_WEBHOOK_URL: 'http://127.0.0.1:9/sms',
  WECHAT_APP_ID: 'wxproductiontest01',
  WECHAT_APP_SECRET: 'production-secret',
  WECHAT_TOKEN: 'production-token',
  WECHAT_ORIGINAL_ID: 'gh_production0001',
  WECHAT_API_BASE: 'http://127.0.0.1:9',
};

test('in production without METRICS_TOKEN, /metrics does not exist; with it, it needs the token', async (t) => {
  const open = await setup(t, productionEnv);
  t.is((await readMetrics(open)).status, 404);
  const token = 'metrics-token-production-0001';
  const guarded = await setup(t, { ...productionEnv, METRICS_TOKEN: token });
  t.is((await readMetrics(guarded)).status, 401);
  t.is((await readMetrics(guarded, { authorization: `Bearer ${token}` })).status, 200);
});

test('a short METRICS_TOKEN is a configuration error', async (t) => {
  const { loadConfig } = await import('../../src/config.js');
  t.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), { message: /METRICS_TOKEN must be at least 16 characters/ });
});
