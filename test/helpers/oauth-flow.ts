import { BrowserClient, csrfOf } from './browser-client.js';

/**
 * Walks one OAuth round trip like WeChat's browser: from `start` (our
 * redirect to the authorize page), through the simulator's authorize page
 * where `openid` approves, back to our callback. `finish` opens the callback.
 */
export async function approveRoundTrip(browser: BrowserClient, persona: BrowserClient, openid: string, location: string) {
  const [address, fragment] = location.split('#');
  const authorizeUrl = new URL(address);
  const html = await (await persona.get(authorizeUrl.pathname + authorizeUrl.search)).text();
  const approved = await persona.postForm('/simulator/authorize', {
    _csrf: csrfOf(html),
    openid,
    appid: authorizeUrl.searchParams.get('appid')!,
    redirect_uri: authorizeUrl.searchParams.get('redirect_uri')!,
    response_type: 'code',
    scope: authorizeUrl.searchParams.get('scope')!,
    state: authorizeUrl.searchParams.get('state')!,
  });
  const callback = new URL(approved.headers.get('location')!);
  return { location, fragment, authorizeUrl, callback, finish: () => browser.get(callback.pathname + callback.search) };
}

/** The first round trip of an in-WeChat login, started at `path` (/auth/wechat). */
export async function authorize(browser: BrowserClient, persona: BrowserClient, openid: string, path = '/auth/wechat') {
  const start = await browser.get(path);
  return { start, ...(await approveRoundTrip(browser, persona, openid, start.headers.get('location')!)) };
}

/**
 * A whole in-WeChat login, approving every round trip the server asks for
 * (a second one with snsapi_userinfo for a newcomer whose unionid is needed).
 * Returns the last answer of our callback and the scopes that were asked for.
 */
export async function logInInWechat(browser: BrowserClient, persona: BrowserClient, openid: string, path = '/auth/wechat') {
  let trip = await authorize(browser, persona, openid, path);
  const scopes = [trip.authorizeUrl.searchParams.get('scope')!];
  let answer = await trip.finish();
  while (answer.status === 302 && answer.headers.get('location')!.includes('/connect/oauth2/authorize')) {
    if (scopes.length > 3) throw new Error('the server keeps asking for authorization');
    trip = { start: answer, ...(await approveRoundTrip(browser, persona, openid, answer.headers.get('location')!)) };
    scopes.push(trip.authorizeUrl.searchParams.get('scope')!);
    answer = await trip.finish();
  }
  return { answer, scopes };
}
