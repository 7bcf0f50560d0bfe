import * as oidc from 'openid-client';
import { BrowserClient } from './browser-client.js';
import { bindPhone, phoneFor, poll } from './login-flow.js';

/** What these helpers need of a server: its address, and for logins its config and SMS inbox. */
type Site = { url: string };

/** The relying party the tests register: an application elsewhere (its callback is never fetched). */
export const testClient = {
  client_id: 'test-app',
  client_secret: 'test-app-secret-0123456789',
  redirect_uris: ['https://app.example/callback'],
  post_logout_redirect_uris: ['https://app.example/logged-out'],
  // Registered for offline_access; post-app is not.
  grant_types: ['authorization_code', 'refresh_token'],
};
export const postClient = {
  client_id: 'post-app',
  client_secret: 'post-app-secret-0123456789',
  redirect_uris: ['https://post.example/callback'],
  token_endpoint_auth_method: 'client_secret_post',
};

/** The env that configures both test clients. */
export const oidcEnv = { OIDC_CLIENTS: JSON.stringify([testClient, postClient]) };

/** openid-client's view of our provider, by discovery over plain http (loopback). */
export async function discover(site: Site, client: { client_id: string; client_secret: string; token_endpoint_auth_method?: string } = testClient) {
  const auth = client.token_endpoint_auth_method === 'client_secret_post' ? oidc.ClientSecretPost(client.client_secret) : oidc.ClientSecretBasic(client.client_secret);
  return oidc.discovery(new URL(`${site.url}/oidc`), client.client_id, undefined, auth, { execute: [oidc.allowInsecureRequests] });
}

export interface AuthorizationStart {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

/** An authorization request with PKCE (S256), state and nonce, as an application would build it. */
export async function startAuthorization(config: oidc.Configuration, extra: Record<string, string> = {}, redirectUri = testClient.redirect_uris[0]) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid phone profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, verifier, state, nonce } satisfies AuthorizationStart;
}

/**
 * Follows redirects on our server until one leaves it (the application's
 * callback) or a page answers; returns that last response and its Location.
 */
export async function followToApplication(browser: BrowserClient, path: string, limit = 10) {
  let response = await browser.get(path);
  for (let hop = 0; hop < limit && response.status >= 300 && response.status < 400; hop += 1) {
    const location = new URL(response.headers.get('location')!, browser.baseUrl);
    if (location.origin !== browser.baseUrl) return { response, location };
    response = await browser.get(location.pathname + location.search);
  }
  return { response, location: undefined };
}

export const pathOf = (url: URL | string) => {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
};

/**
 * A first login through the application: the authorization request lands on
 * our QR page, the simulator's phone scans it, the new user binds a phone,
 * and the browser ends at the application's callback with a code.
 */
export async function logInThroughApplication(
  server: Parameters<typeof phoneFor>[0],
  start: AuthorizationStart,
  person: { openid: string; phone?: string },
  browser = new BrowserClient(server.url, { 'user-agent': 'ava-test-browser' }),
) {
  const toLogin = await followToApplication(browser, pathOf(start.url));
  if (toLogin.location || toLogin.response.status !== 200) throw new Error(`expected the QR page, got ${toLogin.response.status}`);
  const html = await toLogin.response.text();
  const scene = html.match(/data-scene="([^"]+)"/)![1];
  const pending = poll(browser, scene);
  await phoneFor(server).scan(person.openid, scene, 'ticket', true);
  const answer = await pending;
  let next: string;
  if (answer.body.status === 'bind') {
    const bound = await bindPhone(server, browser, person.phone!);
    if (bound.status !== 303) throw new Error(`bind answered ${bound.status}`);
    next = bound.headers.get('location')!;
  } else if (answer.body.status === 'success') {
    next = answer.body.redirect!;
  } else {
    throw new Error(`unexpected poll answer ${answer.body.status}`);
  }
  const back = await followToApplication(browser, next);
  if (!back.location) throw new Error(`did not get back to the application (${back.response.status})`);
  return { browser, callback: back.location, loginPath: pathOf(new URL(toLogin.response.url)) };
}
