import type { BrowserClient } from './browser-client.js';
import { answer, confirmPathOf, openInWechat } from './confirm-flow.js';
import { bindPhone, openLoginPage, phoneFor, poll } from './login-flow.js';
import type { TestServer } from './server.js';

/** A person logged in by a plain scan (LOGIN_CONFIRM=off: no confirmation), with a phone. */
export async function plainLogin(server: TestServer, openid: string, phone: string, path = '/login') {
  const { browser, scene } = await openLoginPage(server, path);
  const pending = poll(browser, scene);
  await phoneFor(server).scan(openid, scene, 'ticket', true);
  if ((await pending).body.status === 'bind') await bindPhone(server, browser, phone);
  return browser;
}

/** Follows the console's redirect to a login that must be confirmed on the phone, and confirms it there. */
export async function confirmOnPhone(server: TestServer, browser: BrowserClient, openid: string, loginPath: string) {
  const page = await browser.get(loginPath);
  const scene = (await page.text()).match(/data-scene="([^"]+)"/)![1];
  const reply = await phoneFor(server).scan(openid, scene, 'ticket', false);
  const scanned = (await poll(browser, scene)).body as { status: string; number?: string };
  if (scanned.status !== 'scanned' || !scanned.number) throw new Error(`expected a confirmation, got ${scanned.status}`);
  const confirm = await openInWechat(server, openid, confirmPathOf(server, reply.replyText));
  await answer(confirm.phone, confirm.html, { number: scanned.number });
  return (await poll(browser, scene)).body as { status: string; redirect?: string };
}
