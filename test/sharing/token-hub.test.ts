import test from 'ava';
import { startFakeWechat, realWechatAt } from '../helpers/fake-wechat.js';
import { sampleValue } from '../helpers/metrics-text.js';
import { startServer } from '../helpers/server.js';
import { captureLogs } from '../helpers/log-capture.js';
import type { AppLogger } from '../../src/logging/logger.js';

const shopSecret = 'shop-secret-0123456789abcdefghijklmnop';
const botSecret = 'bot-secret-0123456789abcdefghijklmnopqr';

/** A real server on a fake WeChat that counts what it is asked, with two of the business's services as token clients. */
async function setup(t: { teardown(fn: () => unknown): void }, logger?: AppLogger) {
  let tokens = 1;
  let tickets = 0;
  const fake = await startFakeWechat({
    // As stable_token does: the current token while it lives, a new one only when forced.
    '/cgi-bin/stable_token': (request) => {
      if ((request.body as { force_refresh?: boolean }).force_refresh) tokens += 1;
      return { access_token: `tok-${tokens}`, expires_in: 7200 };
    },
    '/cgi-bin/ticket/getticket': () => ({ errcode: 0, errmsg: 'ok', ticket: `ticket-${(tickets += 1)}`, expires_in: 7200 }),
  });
  t.teardown(() => fake.close());
  const server = await startServer(t, { env: { ...realWechatAt(fake), WECHAT_TOKEN_CLIENTS: `shop:${shopSecret}, bot:${botSecret}` }, logger });
  const ask = (path: string, secret?: string) => fetch(`${server.url}${path}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });
  const forced = () => fake.requests.filter((request) => request.path === '/cgi-bin/stable_token' && (request.body as { force_refresh?: boolean }).force_refresh).length;
  // Another instance (or another system) forcing a new token at WeChat, behind this server's back.
  const refreshElsewhere = () => (tokens += 1);
  return { server, fake, ask, forced, refreshElsewhere, ticketCalls: () => tickets };
}

test('the business gets the account\'s own cached token; 20 parallel refreshes after a 40001 are one call to WeChat, and another right after is none', async (t) => {
  const { server, ask, forced } = await setup(t);
  const first = await ask('/api/wechat/access-token', shopSecret);
  t.is(first.status, 200);
  t.is(first.headers.get('cache-control'), 'no-store');
  const token = (await first.json()) as { access_token: string; expires_in: number };
  t.is(token.access_token, 'tok-1');
  t.true(token.expires_in <= 6900 && token.expires_in > 6800, 'the seconds left before this server refreshes it');
  t.is(((await (await ask('/api/wechat/access-token', botSecret)).json()) as { access_token: string }).access_token, 'tok-1', 'one token for every service');

  const answers = await Promise.all(Array.from({ length: 20 }, () => ask('/api/wechat/access-token?refresh=1', shopSecret).then((response) => response.json())));
  t.is(forced(), 1, 'one forced refresh');
  t.deepEqual(new Set(answers.map((answer) => (answer as { access_token: string }).access_token)), new Set(['tok-2']));
  await ask('/api/wechat/access-token?refresh=1', botSecret);
  t.is(forced(), 1, 'within 30 s of the last, no other');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.is(sampleValue(metrics, 'wechat_login_token_client_requests_total', { client: 'shop', resource: 'access_token', refresh: 'true' }), 20);
  t.is(sampleValue(metrics, 'wechat_login_token_client_requests_total', { client: 'bot', resource: 'access_token', refresh: 'false' }), 1);
});

test('the JS-SDK ticket is shared the same way', async (t) => {
  const { ask, ticketCalls } = await setup(t);
  const first = (await (await ask('/api/wechat/jsapi-ticket', botSecret)).json()) as { ticket: string; expires_in: number };
  t.is(first.ticket, 'ticket-1');
  t.is(((await (await ask('/api/wechat/jsapi-ticket', shopSecret)).json()) as { ticket: string }).ticket, 'ticket-1');
  const refreshed = await Promise.all(Array.from({ length: 20 }, () => ask('/api/wechat/jsapi-ticket?refresh=1', shopSecret).then((response) => response.json())));
  t.is(ticketCalls(), 2);
  t.deepEqual(new Set(refreshed.map((answer) => (answer as { ticket: string }).ticket)), new Set(['ticket-2']));
});

test('no secret, a wrong one or another scheme gets 401; no secret or token reaches the log', async (t) => {
  // The production logger, whose redaction is what keeps a secret out of the log.
  const log = captureLogs('debug');
  const { server, ask } = await setup(t, log.logger);
  for (const secret of [undefined, 'wrong', `${shopSecret}x`, shopSecret.slice(1)]) {
    const refused = await ask('/api/wechat/access-token', secret);
    t.is(refused.status, 401, String(secret));
    t.is(refused.headers.get('www-authenticate'), 'Bearer');
  }
  const basic = await fetch(`${server.url}/api/wechat/access-token`, { headers: { authorization: `Basic ${shopSecret}` } });
  t.is(basic.status, 401);
  await ask('/api/wechat/access-token', shopSecret);
  const logged = log.raw();
  t.regex(logged, /\/api\/wechat\/access-token/, 'the requests are logged');
  for (const secret of [shopSecret, `${shopSecret}x`, shopSecret.slice(1), 'tok-1']) t.false(logged.includes(secret), secret.slice(0, 8));
});

test('without WECHAT_TOKEN_CLIENTS the routes do not exist', async (t) => {
  const server = await startServer(t);
  t.is((await fetch(`${server.url}/api/wechat/access-token`, { headers: { authorization: `Bearer ${shopSecret}` } })).status, 404);
});

test('WECHAT_TOKEN_CLIENTS: a short secret or a repeated name stops the start, and the message never quotes a secret', async (t) => {
  const { loadConfig, ConfigError } = await import('../../src/config.js');
  const error = t.throws(() => loadConfig({ WECHAT_TOKEN_CLIENTS: 'shop:short-secret-kept-out-of-logs' }), { instanceOf: ConfigError });
  t.regex(error!.message, /WECHAT_TOKEN_CLIENTS must be name:secret pairs/);
  t.false(error!.message.includes('short-secret-kept-out-of-logs'));
  t.throws(() => loadConfig({ WECHAT_TOKEN_CLIENTS: `shop:${shopSecret},shop:${botSecret}` }), { message: /names each client once/ });
});

test('the simulator plays it too: a business bot developed offline gets the token and the JS-SDK ticket', async (t) => {
  const server = await startServer(t, { env: { WECHAT_TOKEN_CLIENTS: `bot:${botSecret}` } });
  const headers = { authorization: `Bearer ${botSecret}` };
  const token = (await (await fetch(`${server.url}/api/wechat/access-token`, { headers })).json()) as { access_token: string };
  const ticket = (await (await fetch(`${server.url}/api/wechat/jsapi-ticket`, { headers })).json()) as { ticket: string; expires_in: number };
  t.truthy(token.access_token);
  t.regex(ticket.ticket, /^[A-Za-z0-9_-]{20,}$/);
  // The token the bot got is one the simulator honours, as WeChat would.
  const info = await (await fetch(`${server.url}/simulator/api/cgi-bin/user/info?access_token=${token.access_token}&openid=nobody`)).json();
  t.not((info as { errcode?: number }).errcode, 40001);
});

test("a refresh after another instance already renewed the token takes WeChat's current one and forces nothing", async (t) => {
  const { ask, forced, refreshElsewhere } = await setup(t);
  t.is(((await (await ask('/api/wechat/access-token', shopSecret)).json()) as { access_token: string }).access_token, 'tok-1');
  refreshElsewhere();
  const renewed = (await (await ask('/api/wechat/access-token?refresh=1', shopSecret)).json()) as { access_token: string };
  t.is(renewed.access_token, 'tok-2');
  t.is(forced(), 0, 'forcing would have ended the other instance\'s token');
});

test('WECHAT_TOKEN_CLIENTS: a pair without a name, or two clients with one secret, stops the start', async (t) => {
  const { loadConfig } = await import('../../src/config.js');
  t.throws(() => loadConfig({ WECHAT_TOKEN_CLIENTS: shopSecret }), { message: /must be name:secret pairs/ });
  t.throws(() => loadConfig({ WECHAT_TOKEN_CLIENTS: `shop:${shopSecret},bot:${shopSecret}` }), { message: /a secret of its own/ });
});
