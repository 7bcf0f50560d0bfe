import test from 'ava';
import { BrowserClient } from '../helpers/browser-client.js';
import { delay, startFakeWechat } from '../helpers/fake-wechat.js';
import { startServer, plainScanLogin } from '../helpers/server.js';

type Mode = 'healthy' | 'down' | 'slow' | 'busy' | 'quota' | 'invalid-token';

/** A fake WeChat whose health the test switches; it counts every request. */
async function setup(t: { teardown(fn: () => unknown): void }, initial: Mode = 'healthy') {
  let mode: Mode = initial;
  let tokens = 0;
  const fake = await startFakeWechat({
    '/cgi-bin/stable_token': async () => {
      if (mode === 'slow') return 'hang';
      tokens += 1;
      return { access_token: `token-${tokens}`, expires_in: 7200 };
    },
    '/cgi-bin/qrcode/create': async () => {
      if (mode === 'slow') return 'hang';
      if (mode === 'busy') return { errcode: -1, errmsg: 'system error' };
      if (mode === 'quota') return { errcode: 45009, errmsg: 'reach max api daily quota limit' };
      if (mode === 'invalid-token') return { errcode: 40001, errmsg: 'invalid credential' };
      return { ticket: 'T', expire_seconds: 300, url: 'http://weixin.qq.com/q/x' };
    },
  });
  // Teardowns run last-registered first: the server closes before its fake WeChat.
  t.teardown(() => fake.close());
  const server = await startServer(t, {
    env: {
      ...plainScanLogin,
      WECHAT_APP_ID: 'wxreal',
      WECHAT_APP_SECRET: 'secret',
      WECHAT_TOKEN: 'tok',
      WECHAT_API_BASE: fake.url,
      // Short, so the slow case is quick; long enough that a loaded CI machine answers the fast cases in time.
      WECHAT_REQUEST_TIMEOUT_MS: '1000',
      // Every page here comes from 127.0.0.1; the per-IP QR cap has its own tests.
      QR_CODES_PER_IP_PER_MINUTE: '1000',
    },
  });
  if (mode === 'down') await fake.close();
  return {
    server,
    fake,
    setMode: (next: Mode) => {
      mode = next;
    },
    tokenRequests: () => fake.count('/cgi-bin/stable_token'),
    qrRequests: () => fake.count('/cgi-bin/qrcode/create'),
  };
}

async function loginPage(url: string) {
  const response = await new BrowserClient(url).get('/login');
  return { status: response.status, html: await response.text() };
}

for (const mode of ['busy', 'slow'] as const) {
  test(`WeChat ${mode === 'busy' ? 'answering -1' : 'slower than the timeout'}: 503 with a retry, and recovery by itself`, async (t) => {
    const { server, setMode, qrRequests } = await setup(t, mode === 'slow' ? 'slow' : 'healthy');
    setMode(mode);
    const started = Date.now();
    const failing = await loginPage(server.url);
    t.is(failing.status, 503);
    t.true(failing.html.includes('微信服务暂时不可用，请稍后重试'));
    t.regex(failing.html, /class="button" href="">/, 'a retry link');
    t.true(Date.now() - started < 4000, 'no hang past the timeout');
    if (mode !== 'slow') t.is(qrRequests(), 1, 'no retry of a non-token error');
    setMode('healthy');
    t.is((await loginPage(server.url)).status, 200);
  });
}

test('WeChat answering 45009 (daily QR quota used up): a "too many login codes today" page, a log line, and recovery by itself', async (t) => {
  const { server, setMode, qrRequests } = await setup(t);
  setMode('quota');
  const failing = await loginPage(server.url);
  t.is(failing.status, 503);
  t.true(failing.html.includes('今天的登录二维码已达到微信的每日上限'), 'says what happened, not a bare "unavailable"');
  t.false(failing.html.includes('微信服务暂时不可用'));
  t.is(qrRequests(), 1, 'no retry of a quota error');
  const english = await new BrowserClient(server.url).get('/login?lang=en');
  t.true((await english.text()).includes('Too many login codes today'));
  t.is(server.logs.filter((log) => log.message === 'login qrcode daily quota reached').length, 2);
  t.like(server.logs.find((log) => log.message === 'login qrcode daily quota reached')!.fields, { errcode: 45009 });
  setMode('healthy');
  t.is((await loginPage(server.url)).status, 200);
  t.true(server.logs.some((log) => log.message === 'login qrcode created'));
});

test('other qrcode/create failures are logged with a stable message', async (t) => {
  const { server, setMode } = await setup(t);
  setMode('busy');
  t.is((await loginPage(server.url)).status, 503);
  t.like(server.logs.find((log) => log.message === 'login qrcode creation failed')!.fields, { errcode: -1 });
});

test('WeChat down: 503 with the message, and nothing internal shown', async (t) => {
  const { server } = await setup(t, 'down');
  const failing = await loginPage(server.url);
  t.is(failing.status, 503);
  t.true(failing.html.includes('微信服务暂时不可用，请稍后重试'));
  t.false(failing.html.includes('ECONNREFUSED'));
});

test('a 40001 storm: at most one retry per request and one forced refresh in all; no stampede', async (t) => {
  const { server, setMode, tokenRequests, qrRequests } = await setup(t);
  t.is((await loginPage(server.url)).status, 200);
  setMode('invalid-token');
  const pages = await Promise.all(Array.from({ length: 20 }, () => loginPage(server.url)));
  t.deepEqual([...new Set(pages.map((page) => page.status))], [503]);
  t.true(qrRequests() <= 1 + 20 * 2, `at most one try and one retry per request (${qrRequests()})`);
  t.is(tokenRequests(), 2, 'the first token, then one forced refresh shared by everyone');
  await delay(50);
  setMode('healthy');
  t.is((await loginPage(server.url)).status, 200);
});
