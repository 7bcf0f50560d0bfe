import test from 'ava';
import Redis from 'ioredis';
import { BrowserClient, sceneOf } from '../../helpers/browser-client.js';
import { startFakeWechat } from '../../helpers/fake-wechat.js';
import { startServer } from '../../helpers/server.js';
import { eventXml, postCallback, signedQuery } from '../../helpers/wechat-push.js';

/**
 * Issue 11, attack 4: every cookieless GET /login cost one qrcode/create, and
 * WeChat caps those per day (45009 after that, for everyone). A reload now
 * shows the session's live code again, and new codes are capped per client IP.
 */

const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

async function setup(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const fake = await startFakeWechat({
    '/cgi-bin/stable_token': () => ({ access_token: 'token', expires_in: 7200 }),
    '/cgi-bin/qrcode/create': () => ({ ticket: 'T', expire_seconds: 300, url: 'http://weixin.qq.com/q/x' }),
  });
  const realWechat = { WECHAT_APP_ID: 'wxreal', WECHAT_APP_SECRET: 'secret', WECHAT_TOKEN: 'tok', WECHAT_API_BASE: fake.url, ...env };
  // Teardowns run last-registered first: the server closes before its fake WeChat.
  t.teardown(() => fake.close());
  const server = await startServer(t, { env: realWechat });
  return { server, fake, realWechat, created: () => fake.count('/cgi-bin/qrcode/create') };
}

test('50 cookieless /login at once from one IP create at most QR_CODES_PER_IP_PER_MINUTE codes; the rest get a 429 page', async (t) => {
  const { server, created } = await setup(t);
  const pages = await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.url}/login`)));
  const statuses = pages.map((page) => page.status);
  t.is(statuses.filter((status) => status === 200).length, 20);
  t.is(statuses.filter((status) => status === 429).length, 30);
  t.is(created(), 20, 'WeChat saw 20 qrcode/create calls, not 50');
  const refused = pages.find((page) => page.status === 429)!;
  t.is(refused.headers.get('retry-after'), '60');
  t.regex(refused.headers.get('content-type')!, /text\/html/);
  t.true((await refused.text()).includes('请等待一分钟后再刷新本页'));
  t.is(server.logs.filter((log) => log.message === 'login qrcode created').length, 20);
  t.is(server.logs.filter((log) => log.message === 'login qrcode refused: per-IP limit').length, 30);
});

test('a lower cap from QR_CODES_PER_IP_PER_MINUTE, in English; RATE_LIMITS=off lifts it', async (t) => {
  const capped = await setup(t, { QR_CODES_PER_IP_PER_MINUTE: '2' });
  const first = await Promise.all([1, 2, 3].map(() => fetch(`${capped.server.url}/login?lang=en`)));
  t.deepEqual(first.map((page) => page.status).sort(), [200, 200, 429]);
  t.true((await first.find((page) => page.status === 429)!.text()).includes('Wait a minute, then reload this page'));

  const unlimited = await setup(t, { QR_CODES_PER_IP_PER_MINUTE: '2', RATE_LIMITS: 'off' });
  const pages = await Promise.all(Array.from({ length: 10 }, () => fetch(`${unlimited.server.url}/login`)));
  t.deepEqual([...new Set(pages.map((page) => page.status))], [200]);
  t.is(unlimited.created(), 10);
});

test('a reload shows the same live code and costs no new one; a scanned code or one with a minute left is replaced', async (t) => {
  const { server, created } = await setup(t);
  const browser = new BrowserClient(server.url);
  const first = sceneOf(await (await browser.get('/login')).text());
  const again = sceneOf(await (await browser.get('/login')).text());
  t.is(again, first);
  t.is(created(), 1);

  // Once someone scanned it, the next visit gets a fresh code.
  const scanned = await postCallback(server.url, signedQuery({ token: 'tok' }), eventXml({ openid: 'o_scanner', event: 'subscribe', eventKey: `qrscene_${first}` }));
  t.is(scanned.status, 200);
  const afterScan = sceneOf(await (await browser.get('/login')).text());
  t.not(afterScan, first);
  t.is(created(), 2);

  // Another browser has its own code.
  const other = sceneOf(await (await new BrowserClient(server.url).get('/login')).text());
  t.not(other, afterScan);
  t.is(created(), 3);
});

test('with a QR lifetime of a minute or less, every visit gets a new code (none would have a minute left)', async (t) => {
  const { server, created } = await setup(t, { QR_EXPIRE_SECONDS: '60' });
  const browser = new BrowserClient(server.url);
  const first = sceneOf(await (await browser.get('/login')).text());
  const second = sceneOf(await (await browser.get('/login')).text());
  t.not(first, second);
  t.is(created(), 2);
});

(process.env.TEST_REDIS === '1' ? test : test.skip)('with Redis, two instances share the per-IP cap', async (t) => {
  const a = await setup(t, { REDIS_URL: redisUrl, QR_CODES_PER_IP_PER_MINUTE: '5' });
  // A second instance on the same fake WeChat and the same Redis (its own database is enough here).
  const b = await startServer(t, { env: { ...a.realWechat, REDIS_URL: redisUrl, QR_CODES_PER_IP_PER_MINUTE: '5' } });
  // Both count 127.0.0.1 under one Redis key: start from a clean window.
  const redis = new Redis(redisUrl);
  t.teardown(() => redis.disconnect());
  await redis.del('wechat-login:rate:qrcode-ip:127.0.0.1', 'wechat-login:rate:qrcode-ip:::ffff:127.0.0.1');
  const pages = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${(i % 2 ? a.server : b).url}/login`)));
  t.is(pages.filter((page) => page.status === 200).length, 5);
  t.is(a.created(), 5);
  await redis.del('wechat-login:rate:qrcode-ip:127.0.0.1', 'wechat-login:rate:qrcode-ip:::ffff:127.0.0.1');
});

test('issue 24: a cookieless check costs no QR code, and the status link without a cookie explains cookies instead of "forbidden"', async (t) => {
  const { server, created } = await setup(t);
  const check = await fetch(`${server.url}/login?cookies=check`);
  t.is(check.status, 200);
  const html = await check.text();
  t.true(html.includes('请允许本站使用 Cookie'));
  t.false(html.includes('data-scene='), 'no code on it');
  t.is(created(), 0);
  t.true((await (await fetch(`${server.url}/login?cookies=check&lang=en`)).text()).includes('Please allow cookies'));

  const status = await fetch(`${server.url}/login/status?scene=some-scene`);
  t.is(status.status, 403);
  t.true((await status.text()).includes('请允许本站使用 Cookie'));
  t.is((await fetch(`${server.url}/login/status?scene=`)).status, 400, 'a missing scene is still a bad request');

  // With a cookie, the check is the ordinary page: the code shown before, or a new one.
  const browser = new BrowserClient(server.url);
  const first = sceneOf(await (await browser.get('/login')).text());
  t.is(sceneOf(await (await browser.get('/login?cookies=check')).text()), first);
  t.is(created(), 1);
});

test('issue 24: on https the session cookie is __Host-, and the cookie check knows it by that name', async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'off' }, publicHttps: true });
  const browser = new BrowserClient(server.url);
  const first = sceneOf(await (await browser.get('/login')).text());
  t.true(browser.cookieHeader().includes('__Host-wl.sid='));
  t.is(sceneOf(await (await browser.get('/login?cookies=check')).text()), first, 'a browser with the cookie is not told to allow cookies');
  t.true((await (await fetch(`${server.url}/login?cookies=check`)).text()).includes('请允许本站使用 Cookie'));
});

test('issue 24: the script renews an expired code by itself three times in a row; the fourth shows it expired at no cost, until the visitor asks', async (t) => {
  // Codes of a minute are never shown again, so every renewal would cost one.
  const { server, created } = await setup(t, { QR_EXPIRE_SECONDS: '60' });
  const browser = new BrowserClient(server.url);
  const renewalsLeft = (html: string) => html.match(/data-auto-renewals-left="(\d+)"/)?.[1];
  t.is(renewalsLeft(await (await browser.get('/login')).text()), '3');
  for (const left of ['2', '1', '0']) {
    const page = await browser.get('/login?renew=auto');
    t.is(page.status, 200);
    t.is(renewalsLeft(await page.text()), left);
  }
  t.is(created(), 4);
  const stopped = await (await browser.get('/login?renew=auto')).text();
  t.regex(stopped, /id="login-state" class="login-state" data-state="expired"/);
  t.regex(stopped, /id="refresh-qr" href="\/login"/);
  t.is(created(), 4, 'no code for a fourth renewal');
  const asked = await (await browser.get('/login')).text();
  t.regex(asked, /data-state="pending"/);
  t.is(renewalsLeft(asked), '3');
  t.is(created(), 5);
});
