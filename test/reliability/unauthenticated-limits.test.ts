import test from 'ava';
import { BrowserClient } from '../helpers/browser-client.js';
import { confirmPathOf, createPersona, openLoginAs, wechatInAppBrowser } from '../helpers/confirm-flow.js';
import { phoneFor } from '../helpers/login-flow.js';
import { databaseKinds } from '../helpers/databases.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 26: every unauthenticated request that writes a row or costs a WeChat
 * API call is capped per client IP, and the cap holds under parallel requests
 * (the counter is claimed, not read then written). Behind one trusted proxy
 * the client IP is X-Forwarded-For's, so another client is not refused.
 */
const limits = {
  TRUST_PROXY: '1',
  OAUTH_PER_IP_PER_MINUTE: '3',
  OIDC_AUTH_PER_IP_PER_MINUTE: '3',
  MINIPROGRAM_LOGINS_PER_IP_PER_MINUTE: '3',
};

type Send = (server: TestServer, ip: string) => Promise<number>;

const routes: Record<string, Send> = {
  'GET /auth/wechat (writes a state row)': (server, ip) => statusOf(server, '/auth/wechat', ip),
  'GET /auth/wechat/callback (costs sns/oauth2/access_token)': (server, ip) => statusOf(server, '/auth/wechat/callback?code=garbage&state=x', ip),
  "GET /login/confirm/callback (the confirm page's OAuth return)": (server, ip) => statusOf(server, '/login/confirm/callback?code=garbage&state=x', ip),
  'GET /oidc/auth (stores an interaction)': (server, ip) =>
    statusOf(server, '/oidc/auth?client_id=demo-app&response_type=code&scope=openid&redirect_uri=x&code_challenge=abc&code_challenge_method=S256', ip),
  'GET /auth/wechat/open (writes a state row)': (server, ip) => statusOf(server, '/auth/wechat/open', ip),
  'GET /auth/wechat/open/callback (costs sns/oauth2/access_token)': (server, ip) => statusOf(server, '/auth/wechat/open/callback?code=garbage&state=x', ip),
  'POST /api/miniprogram/qr/scan (costs jscode2session)': (server, ip) => postJson(server, '/api/miniprogram/qr/scan', { scene: 'A'.repeat(22), code: 'garbage-code' }, ip),
  'POST /api/miniprogram/qr/confirm (costs jscode2session)': (server, ip) =>
    postJson(server, '/api/miniprogram/qr/confirm', { ticket: 'A'.repeat(32), code: 'garbage-code', decision: 'approve' }, ip),
  'POST /api/miniprogram/login (costs jscode2session)': async (server, ip) =>
    (
      await fetch(`${server.url}/api/miniprogram/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ code: 'garbage-code' }),
      })
    ).status,
};

async function postJson(server: TestServer, path: string, body: unknown, ip: string): Promise<number> {
  return (await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(body) })).status;
}

async function statusOf(server: TestServer, path: string, ip: string): Promise<number> {
  return (await new BrowserClient(server.url, { 'x-forwarded-for': ip }).get(path)).status;
}

for (const { kind, enabled } of databaseKinds) {
  for (const [name, send] of Object.entries(routes)) {
    (enabled ? test : test.skip)(`${kind}: ${name}: 3 a minute per client IP, under 10 parallel requests; another IP still passes`, async (t) => {
      const server = await startServer(t, { database: kind, env: limits });
      const statuses = await Promise.all(Array.from({ length: 10 }, () => send(server, '203.0.113.7')));
      t.is(statuses.filter((status) => status === 429).length, 7, `statuses: ${statuses.join(', ')}`);
      t.false(statuses.some((status) => status >= 500), 'no request failed for another reason');
      t.not(await send(server, '203.0.113.8'), 429);
    });
  }
}

test("the confirm page's OAuth state is single-use on the server: a saved copy of the cookie cannot replay it", async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'always' } });
  const openid = await createPersona(server, 'Replayer');
  const phone = new BrowserClient(server.url, { 'user-agent': wechatInAppBrowser });
  const { scene } = await openLoginAs(server);
  const path = confirmPathOf(server, (await phoneFor(server).scan(openid, scene, 'ticket', false)).replyText);
  // The in-app browser reads as the persona, so the simulated authorize page answers snsapi_base silently.
  await phone.get(`/simulator/browser?as=${encodeURIComponent(openid)}&url=${encodeURIComponent(server.url + path)}`);
  const started = await phone.get(path);
  t.is(started.status, 302);
  const authorize = new URL(started.headers.get('location')!);
  const saved = phone.cookieHeader();
  const back = async (browser: BrowserClient) => {
    const callback = new URL((await browser.get(authorize.pathname + authorize.search)).headers.get('location')!);
    return browser.get(callback.pathname + callback.search);
  };
  t.is((await back(phone)).status, 302, 'the first return proves the openid');
  // The same state again, with the cookie as it was before the return, and a fresh code from WeChat.
  const replayer = new BrowserClient(server.url, { 'user-agent': wechatInAppBrowser });
  replayer.setCookies(saved);
  t.is((await back(replayer)).status, 400);
});
