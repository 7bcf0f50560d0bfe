import { BrowserClient, csrfOf } from './browser-client.js';
import { openSimulator } from './simulator-phone.js';
import type { TestServer } from './server.js';

/** What these helpers need of a server: its address. */
type Site = Pick<TestServer, 'url'>;

/** A desktop Chrome on Windows: what the attacker's (or the user's) browser says it is. */
export const desktopChrome =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
export const desktopFirefoxLinux = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
/** WeChat's in-app browser on an iPhone. */
export const wechatInAppBrowser =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN';

/** Opens /login in a browser session that says it is `userAgent`. */
export async function openLoginAs(server: Site, userAgent = desktopChrome, browser = new BrowserClient(server.url, { 'user-agent': userAgent })) {
  const response = await browser.get('/login');
  const html = await response.text();
  if (response.status !== 200) throw new Error(`GET /login answered ${response.status}`);
  return { browser, html, scene: html.match(/data-scene="([^"]+)"/)![1] };
}

/** The confirm link in a scan's passive reply, as a path on this server. */
export function confirmPathOf(server: Site, replyText: string | undefined): string {
  const match = replyText?.match(/href="([^"]+)"/);
  if (!match) throw new Error(`no confirm link in reply: ${replyText}`);
  if (!match[1].startsWith(`${server.url}/login/confirm?t=`)) throw new Error(`unexpected link ${match[1]}`);
  return match[1].slice(server.url.length);
}

/** Follows same-site redirects (the OAuth round trip goes through the simulator, on this server too). */
export async function follow(browser: BrowserClient, path: string, limit = 8) {
  let response = await browser.get(path);
  for (let hop = 0; hop < limit && response.status >= 300 && response.status < 400; hop += 1) {
    const location = response.headers.get('location')!;
    const next = location.startsWith(browser.baseUrl) ? location.slice(browser.baseUrl.length) : location;
    if (!next.startsWith('/')) throw new Error(`redirect off-site: ${location}`);
    response = await browser.get(next.replace(/#wechat_redirect$/, ''));
  }
  return { status: response.status, html: await response.text() };
}

/** A simulator persona: a WeChat user the simulated OAuth can sign in as. */
export async function createPersona(server: Site, nickname: string): Promise<string> {
  return (await openSimulator(server)).createPersona(nickname);
}

/**
 * The scanner's phone opening a link in WeChat's in-app browser: the
 * simulator remembers who reads, so the snsapi_base round trip is silent.
 */
export async function openInWechat(server: Site, openid: string, path: string, phone = new BrowserClient(server.url, { 'user-agent': wechatInAppBrowser })) {
  await phone.get(`/simulator/browser?as=${encodeURIComponent(openid)}&url=${encodeURIComponent(server.url + path)}`);
  const page = await follow(phone, path);
  return { phone, ...page };
}

/** The three numbers offered on a confirm page. */
export function numbersOf(html: string): string[] {
  return [...html.matchAll(/name="number" value="(\d\d)"/g)].map((match) => match[1]);
}

/** Presses a number button (or "deny") on the confirm page the phone shows. */
export function answer(phone: BrowserClient, html: string, choice: { number: string } | 'deny') {
  const token = html.match(/name="t" value="([^"]+)"/)![1];
  const fields: Record<string, string> = choice === 'deny' ? { decision: 'deny' } : { decision: 'approve', number: choice.number };
  return phone.postForm('/login/confirm', { _csrf: csrfOf(html), t: token, ...fields });
}

/** Scans `scene` with the simulator's phone page, as a person would (the scan counts as an interaction, as in WeChat). */
export async function scanInSimulator(server: Site, openid: string, scene: string) {
  const simulator = await openSimulator(server);
  const scanned = await simulator.scan(openid, scene);
  if (scanned.status !== 303) throw new Error(`simulator scan answered ${scanned.status}`);
  return simulator;
}

/** The persona's chat bubbles as text, oldest first. */
export async function chatOf(server: Site, openid: string): Promise<string[]> {
  const page = await (await openSimulator(server)).pageOf(openid);
  return [...page.matchAll(/<p class="bubble (?:user|account)">([\s\S]*?)<\/p>/g)].map((match) => match[1].replace(/<[^>]+>/g, ''));
}
