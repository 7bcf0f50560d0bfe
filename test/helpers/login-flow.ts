import { normalizeMainlandPhone } from '../../src/login/phone/phone.js';
import { createSimulatedPhone, type SimulatedPhone } from '../../src/simulator/phone.js';
import { BrowserClient, csrfOf, sceneOf } from './browser-client.js';
import type { TestServer } from './server.js';

/** A WeChat user's phone, pushing signed events to the server over real HTTP. */
export function phoneFor(server: TestServer): SimulatedPhone {
  return createSimulatedPhone({
    callbackUrl: `${server.url}/wechat/callback`,
    token: server.config.wechat.token,
    appId: server.config.wechat.appId,
    accountId: server.config.wechat.originalId!,
    encodingAesKey: server.config.wechat.encodingAesKey,
    now: server.now,
  });
}

/** Opens /login in a fresh browser session; returns the client, the page and the scene. */
export async function openLoginPage(server: TestServer, path = '/login') {
  const browser = new BrowserClient(server.url, { 'user-agent': 'ava-test-browser' });
  const response = await browser.get(path);
  const html = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
  return { browser, html, scene: sceneOf(html) };
}

export async function poll(browser: BrowserClient, scene: string) {
  const response = await browser.get(`/login/poll?scene=${encodeURIComponent(scene)}`);
  return { status: response.status, body: (await response.json()) as { status: string; redirect?: string } };
}

/** Binds `phoneNumber` on the /bind page using the code from the console SMS inbox. */
export async function bindPhone(server: TestServer, browser: BrowserClient, phoneNumber: string) {
  const page = await (await browser.get('/bind')).text();
  const csrf = csrfOf(page);
  const sent = await browser.postForm('/bind/code', { phone: phoneNumber, _csrf: csrf });
  if (sent.status !== 200) throw new Error(`/bind/code answered ${sent.status}: ${await sent.text()}`);
  const code = latestCode(server, phoneNumber);
  return browser.postForm('/bind', { phone: phoneNumber, code, _csrf: csrf });
}

export function latestCode(server: TestServer, phoneNumber: string): string {
  const normalized = normalizeMainlandPhone(phoneNumber);
  const message = server.handle.smsInbox.list().find((sms) => sms.phone === normalized);
  if (!message) throw new Error(`no SMS for ${phoneNumber}`);
  return message.code;
}

/** Runs a whole first login (scan, bind) for `openid` and returns the logged-in browser. */
export async function logInNewUser(server: TestServer, openid: string, phoneNumber: string) {
  const { browser, scene } = await openLoginPage(server);
  await phoneFor(server).scan(openid, scene, 'ticket', false);
  const answer = await poll(browser, scene);
  if (answer.body.status !== 'bind') throw new Error(`expected bind, got ${answer.body.status}`);
  const bound = await bindPhone(server, browser, phoneNumber);
  if (bound.status !== 303) throw new Error(`bind answered ${bound.status}`);
  return browser;
}
