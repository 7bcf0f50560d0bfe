import { BrowserClient } from './browser-client.js';
import type { TestServer } from './server.js';
import { openSimulator } from './simulator-phone.js';

/**
 * A whole open-qr login through the simulator, as a person does it: the
 * browser goes to WeChat's qrconnect page, the phone of `openid` allows (or
 * refuses) the website login, the page goes back to our callback. Returns our
 * callback's answer and the browser.
 */
export async function logInWithOpenQr(server: TestServer, openid: string, decision: 'allow' | 'deny' = 'allow', browser = new BrowserClient(server.url)) {
  const start = await browser.get('/auth/wechat/open');
  const qrconnect = new URL(start.headers.get('location')!.split('#')[0]);
  const waiting = await browser.get(qrconnect.pathname + qrconnect.search);
  const pagePath = waiting.headers.get('location')!;
  const id = new URL(pagePath, server.url).searchParams.get('id')!;
  const phone = await openSimulator(server);
  await phone.post('/simulator/qrconnect/decide', { openid, id, decision });
  const back = await browser.get(pagePath);
  const callback = new URL(back.headers.get('location')!);
  return { browser, qrconnect, callback, answer: await browser.get(callback.pathname + callback.search) };
}
