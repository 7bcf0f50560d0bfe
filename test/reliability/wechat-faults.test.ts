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
  const server = await startServer({
    env: {
      ...plainScanLogin,
      WECHAT_APP_ID: 'wxreal',
      WECHAT_APP_SECRET: 'secret',
      WECHAT_TOKEN: 'tok',
      WECHAT_API_BASE: fake.url,
      WECHAT_REQUEST_TIMEOUT_MS: '300',
    },
  });
  t.teardown(async () => {
    await server.close();
    await fake.close();
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

for (const mode of ['busy', 'quota', 'slow'] as const) {
  test(`WeChat ${mode === 'busy' ? 'answering -1' : mode === 'quota' ? 'answering 45009' : 'slower than the timeout'}: 503 with a retry, and recovery by itself`, async (t) => {
    const { server, setMode, qrRequests } = await setup(t, mode === 'slow' ? 'slow' : 'healthy');
    setMode(mode);
    const started = Date.now();
    const failing = await loginPage(server.url);
    t.is(failing.status, 503);
    t.true(failing.html.includes('微信服务暂时不可用，请稍后重试'));
    t.regex(failing.html, /class="button" href="">/, 'a retry link');
    t.true(Date.now() - started < 3000, 'no hang past the timeout');
    if (mode !== 'slow') t.is(qrRequests(), 1, 'no retry of a non-token error');
    setMode('healthy');
    t.is((await loginPage(server.url)).status, 200);
  });
}

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
