import { simulatorAppId, simulatorOriginalId } from '../../src/config.js';
import { createSimulatedPhone } from '../../src/simulator/phone.js';
import { BrowserClient, csrfOf, sceneOf } from './browser-client.js';
import { waitUntil } from './wait-until.js';

export interface ProcessLoginOptions {
  /** Where the browser and the phone reach the server (the server itself, or a proxy in front of it). */
  baseUrl: string;
  /** The servers' combined output: the console SMS provider logs the code there. */
  output: () => string;
  openid: string;
  phone: string;
  /** Extra headers every browser request carries (a forged X-Forwarded-For, say). */
  headers?: Record<string, string>;
}

/** The code the console SMS provider logged last for `phone`, read from the server's JSON log lines. */
export function loggedSmsCode(output: string, phone: string): string | undefined {
  const masked = `${phone.slice(0, 3)}****${phone.slice(-4)}`;
  let code: string | undefined;
  for (const line of output.split('\n')) {
    if (!line.includes('sms (console provider)')) continue;
    const entry = JSON.parse(line) as { phone?: string; code?: string };
    if (entry.phone === masked) code = entry.code;
  }
  return code;
}

/**
 * A whole first QR login against a server running as its own process (no
 * in-process handles): the login page, a signed scan from the simulated
 * phone, the poll, the phone binding with the SMS code from the log, and the
 * profile. Throws with the step that failed; returns the logged-in browser.
 */
export async function logInThroughProcess(options: ProcessLoginOptions): Promise<BrowserClient> {
  const browser = new BrowserClient(options.baseUrl, { 'user-agent': 'process-smoke-browser', ...options.headers });
  const page = await browser.get('/login');
  if (page.status !== 200) throw new Error(`GET /login answered ${page.status}`);
  const scene = sceneOf(await page.text());
  const phone = createSimulatedPhone({
    callbackUrl: `${options.baseUrl}/wechat/callback`,
    token: 'dev-token',
    appId: simulatorAppId,
    accountId: simulatorOriginalId,
  });
  const pushed = await phone.scan(options.openid, scene, 'ticket', false);
  if (pushed.status !== 200) throw new Error(`the scan answered ${pushed.status}: ${pushed.body}`);
  const poll = (await (await browser.get(`/login/poll?scene=${scene}`)).json()) as { status: string };
  if (poll.status !== 'bind') throw new Error(`the poll answered ${JSON.stringify(poll)}`);
  const csrf = csrfOf(await (await browser.get('/bind')).text());
  const sent = await browser.postForm('/bind/code', { phone: options.phone, _csrf: csrf });
  if (sent.status !== 200) throw new Error(`/bind/code answered ${sent.status}`);
  let code: string | undefined;
  await waitUntil(() => (code = loggedSmsCode(options.output(), options.phone)) !== undefined, 5000);
  const bound = await browser.postForm('/bind', { phone: options.phone, code: code!, _csrf: csrf });
  if (bound.status !== 303 || bound.headers.get('location') !== '/profile') throw new Error(`POST /bind answered ${bound.status}`);
  return browser;
}
