import { simulatorAppId, simulatorOriginalId } from '../../src/config.js';
import { createSimulatedPhone } from '../../src/simulator/phone.js';
import { BrowserClient, csrfOf, sceneOf } from './browser-client.js';
import type { SmsReceiver } from './sms-receiver.js';

export interface ProcessLoginOptions {
  /** Where the browser and the phone reach the server (the server itself, or a proxy in front of it). */
  baseUrl: string;
  /** The SMS provider's webhook the servers send codes to (SMS_PROVIDER=webhook): the code is there once /bind/code answers. */
  sms: SmsReceiver;
  openid: string;
  phone: string;
  /** Extra headers every browser request carries (a forged X-Forwarded-For, say). */
  headers?: Record<string, string>;
}

/**
 * A whole first QR login against a server running as its own process (no
 * in-process handles): the login page, a signed scan from the simulated
 * phone, the poll, the phone binding with the SMS code from the provider's webhook, and the
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
  const code = options.sms.codeFor(options.phone);
  const bound = await browser.postForm('/bind', { phone: options.phone, code, _csrf: csrf });
  if (bound.status !== 303 || bound.headers.get('location') !== '/profile') throw new Error(`POST /bind answered ${bound.status}`);
  return browser;
}
