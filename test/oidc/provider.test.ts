import { createPublicKey, verify } from 'node:crypto';
import http from 'node:http';
import test from 'ava';
import * as oidc from 'openid-client';
import { BrowserClient } from '../helpers/browser-client.js';
import { databaseKinds } from '../helpers/databases.js';
import { logInNewUser, phoneFor } from '../helpers/login-flow.js';
import {
  discover,
  followToApplication,
  logInThroughApplication,
  oidcEnv,
  pathOf,
  postClient,
  startAuthorization,
  testClient,
} from '../helpers/oidc-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../helpers/server.js';

/** Verifies a JWT's RS256 signature against the provider's published JWKS, independently of openid-client. */
async function signedByPublishedKey(server: TestServer, jwt: string): Promise<boolean> {
  const [header, payload, signature] = jwt.split('.');
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string; alg: string };
  if (alg !== 'RS256') return false;
  const { keys } = (await (await fetch(`${server.url}/oidc/jwks`)).json()) as { keys: { kid: string }[] };
  const jwk = keys.find((key) => key.kid === kid);
  if (!jwk) return false;
  return verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(signature, 'base64url'));
}

async function tokenRequest(server: TestServer, fields: Record<string, string>, secret = testClient.client_secret) {
  const response = await fetch(`${server.url}/oidc/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${testClient.client_id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(fields),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

for (const { kind, enabled } of databaseKinds) {
  const dbTest = enabled ? test : test.skip;

  dbTest(`${kind}: an application logs a new user in through the QR page, gets verified tokens, userinfo, a refresh, and logs out`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, ...oidcEnv } });

    const config = await discover(server);
    const metadata = config.serverMetadata();
    t.is(metadata.issuer, `${server.url}/oidc`);
    t.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    t.deepEqual(metadata.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'none'], 'only what registration accepts');
    t.is(metadata.jwks_uri, `${server.url}/oidc/jwks`);
    t.is(metadata.end_session_endpoint, `${server.url}/oidc/session/end`);
    oidc.enableNonRepudiationChecks(config);

    // offline_access asks for a refresh token; OpenID Connect wants prompt=consent with it.
    const start = await startAuthorization(config, { scope: 'openid phone profile offline_access', prompt: 'consent' });
    const { browser, callback, loginPath } = await logInThroughApplication(server, start, { openid: 'oidc-user-1', phone: '13800138001' });
    t.regex(loginPath, /^\/login\?next=%2Foidc%2Finteraction%2F/);
    t.is(callback.origin + callback.pathname, testClient.redirect_uris[0]);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: start.verifier,
      expectedState: start.state,
      expectedNonce: start.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    const user = await server.knex('users').where({ openid: 'oidc-user-1' }).first();
    t.is(claims.sub, String(user.id));
    t.is(claims.iss, `${server.url}/oidc`);
    t.is(claims.aud, testClient.client_id);
    t.is(claims.nonce, start.nonce);
    t.true(claims.exp > Date.now() / 1000 && claims.exp <= Date.now() / 1000 + 3601);
    t.is(claims.phone_number, '+8613800138001');
    t.is(claims.phone_number_verified, true);
    t.not(claims.sub, 'oidc-user-1', 'sub is never the openid');
    t.true(await signedByPublishedKey(server, tokens.id_token!));

    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    t.is(info.phone_number, '+8613800138001');
    t.is(info.phone_number_verified, true);
    t.is(info.sub, String(user.id));

    t.truthy(tokens.refresh_token);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    t.truthy(refreshed.access_token);
    t.not(refreshed.access_token, tokens.access_token);
    t.is(refreshed.claims()!.sub, String(user.id));

    // Our own session is live: the profile answers.
    t.is((await browser.get('/api/me')).status, 200);

    // RP-initiated logout: the confirmation page, then "yes" ends the provider's session and ours.
    const endUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: testClient.post_logout_redirect_uris[0],
      state: 'after-logout',
    });
    const page = await browser.get(pathOf(endUrl));
    t.is(page.status, 200);
    const html = await page.text();
    const action = html.match(/<form id="op.logoutForm" method="post" action="([^"]+)"/)![1];
    const xsrf = html.match(/name="xsrf" value="([^"]+)"/)![1];
    const confirmed = await browser.postForm(pathOf(action), { xsrf, logout: 'yes' });
    t.is(confirmed.status, 303);
    t.is(confirmed.headers.get('location'), `${testClient.post_logout_redirect_uris[0]}?state=after-logout`);
    t.is((await browser.get('/api/me')).status, 401);
    const sessions = await server.knex('user_sessions').where({ user_id: user.id });
    t.true(sessions.every((session: { revoked_at: unknown }) => session.revoked_at !== null));
    // The refresh token died with the session it was given in (issue 26): an intruder's copy mints nothing more.
    const refused = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(config, refreshed.refresh_token ?? tokens.refresh_token!));
    t.is(refused?.error, 'invalid_grant');
  });

  dbTest(`${kind}: refused: an unregistered redirect_uri, a reused code, a wrong verifier, a wrong secret`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, ...oidcEnv } });
    const config = await discover(server);

    // An unregistered redirect_uri gets an error page here, never a redirect to it.
    const evil = await startAuthorization(config, {}, 'https://evil.example/callback');
    const refused = await new BrowserClient(server.url).get(pathOf(evil.url));
    t.is(refused.status, 400);
    t.is(refused.headers.get('location'), null);
    t.regex(await refused.text(), /redirect_uri/);

    const start = await startAuthorization(config);
    const { callback } = await logInThroughApplication(server, start, { openid: 'oidc-user-2', phone: '13800138002' });
    const code = callback.searchParams.get('code')!;
    const redeem = { grant_type: 'authorization_code', code, redirect_uri: testClient.redirect_uris[0], code_verifier: start.verifier };

    const wrongSecret = await tokenRequest(server, redeem, 'not-the-secret-0123456789');
    t.is(wrongSecret.status, 401);
    t.is(wrongSecret.body.error, 'invalid_client');
    t.false(JSON.stringify(server.logs).includes('not-the-secret'));

    const wrongVerifier = await tokenRequest(server, { ...redeem, code_verifier: 'x'.repeat(43) });
    t.is(wrongVerifier.status, 400);
    t.is(wrongVerifier.body.error, 'invalid_grant');

    const first = await tokenRequest(server, redeem);
    t.is(first.status, 200);
    t.truthy(first.body.id_token);
    const reused = await tokenRequest(server, redeem);
    t.is(reused.status, 400);
    t.is(reused.body.error, 'invalid_grant');
    // Replaying the code revokes what it gave.
    const userinfo = await fetch(`${server.url}/oidc/me`, { headers: { authorization: `Bearer ${first.body.access_token}` } });
    t.is(userinfo.status, 401);

    // A post_logout_redirect_uri that is not registered is refused, not followed.
    const browser = new BrowserClient(server.url);
    const logout = await browser.get(
      `/oidc/session/end?client_id=${testClient.client_id}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    );
    t.is(logout.status, 400);
    t.is(logout.headers.get('location'), null);
  });
}

test('two redemptions of one code at once: exactly one gets tokens', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const config = await discover(server);
  const start = await startAuthorization(config);
  const { callback } = await logInThroughApplication(server, start, { openid: 'oidc-race', phone: '13800138003' });
  const redeem = {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: testClient.redirect_uris[0],
    code_verifier: start.verifier,
  };
  const answers = await Promise.all(Array.from({ length: 6 }, () => tokenRequest(server, redeem)));
  t.is(answers.filter((answer) => answer.status === 200).length, 1, JSON.stringify(answers.map((answer) => answer.status)));
  t.true(answers.filter((answer) => answer.status !== 200).every((answer) => answer.body.error === 'invalid_grant'));
});

test('a person signed in here goes straight back to the application; after logging out here, the QR page comes back', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const browser = await logInNewUser(server, 'oidc-signed-in', '13800138004');
  const config = await discover(server);

  const start = await startAuthorization(config);
  const straight = await followToApplication(browser, pathOf(start.url));
  t.truthy(straight.location, 'no login page for someone signed in');
  const tokens = await oidc.authorizationCodeGrant(config, straight.location!, {
    pkceCodeVerifier: start.verifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
  });
  const user = await server.knex('users').where({ openid: 'oidc-signed-in' }).first();
  t.is(tokens.claims()!.sub, String(user.id));

  // Logging out here ends what the application can get silently, too.
  const profile = await (await browser.get('/profile')).text();
  const csrf = profile.match(/name="_csrf" value="([^"]+)"/)![1];
  t.is((await browser.postForm('/logout', { _csrf: csrf })).status, 303);
  const again = await startAuthorization(config);
  const back = await followToApplication(browser, pathOf(again.url));
  t.is(back.location, undefined);
  t.is(back.response.status, 200);
  t.regex(await back.response.text(), /data-scene=/);

  // prompt=none cannot log in someone who is not signed in here: the application hears login_required.
  const silent = await startAuthorization(config, { prompt: 'none' });
  const answer = await followToApplication(browser, pathOf(silent.url));
  t.is(answer.location?.searchParams.get('error'), 'login_required');
});

test('client_secret_post works, and a wrong secret in the body is refused', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const config = await discover(server, postClient);
  const start = await startAuthorization(config, {}, postClient.redirect_uris[0]);
  const { callback } = await logInThroughApplication(server, start, { openid: 'oidc-post', phone: '13800138005' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  t.truthy(tokens.id_token);
  t.is(tokens.claims()!.aud, postClient.client_id);

  // A wrong secret in the body is refused like one in the header.
  const wrong = await fetch(`${server.url}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'whatever', client_id: postClient.client_id, client_secret: 'wrong-secret-0123456789' }),
  });
  t.is(wrong.status, 401);
  t.is(((await wrong.json()) as { error: string }).error, 'invalid_client');
});

test('an authorization request without PKCE is refused', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const query = new URLSearchParams({ client_id: testClient.client_id, response_type: 'code', scope: 'openid', redirect_uri: testClient.redirect_uris[0], state: 's' });
  const response = await new BrowserClient(server.url).get(`/oidc/auth?${query}`);
  t.is(response.status, 303);
  const location = new URL(response.headers.get('location')!);
  t.is(location.origin + location.pathname, testClient.redirect_uris[0]);
  t.is(location.searchParams.get('error'), 'invalid_request');
});

test('an interaction opened without its cookie (another browser) is refused', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const config = await discover(server);
  const start = await startAuthorization(config);
  const victim = new BrowserClient(server.url);
  const first = await victim.get(pathOf(start.url));
  const interaction = first.headers.get('location')!;
  t.regex(interaction, /^\/oidc\/interaction\//);
  const attacker = await logInNewUser(server, 'oidc-attacker', '13800138006');
  const stolen = await attacker.get(interaction);
  t.is(stolen.status, 400);
});

test('another site sending a signed-in person to the logout endpoint ends nothing here', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  // Signed in here directly: the provider has no session of theirs, so it posts the logout form by itself.
  const browser = await logInNewUser(server, 'oidc-csrf-logout', '13800138009');
  const page = await browser.get(`/oidc/session/end?client_id=${testClient.client_id}`);
  t.is(page.status, 200);
  const html = await page.text();
  const xsrf = html.match(/name="xsrf" value="([^"]+)"/)![1];
  t.regex(html, /name="logout" value="yes"/);
  const posted = await browser.postForm('/oidc/session/end/confirm', { xsrf, logout: 'yes' });
  t.is(posted.status, 303);
  t.is((await browser.get('/api/me')).status, 200, 'our session is still live');
});

test('after the person unfollows, the application\'s access and refresh tokens are refused', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const config = await discover(server);
  const start = await startAuthorization(config, { scope: 'openid phone offline_access', prompt: 'consent' });
  const { callback } = await logInThroughApplication(server, start, { openid: 'oidc-leaver', phone: '13800138009' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  t.truthy(tokens.refresh_token);
  await phoneFor(server).unfollow('oidc-leaver');
  await t.throwsAsync(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck));
  await t.throwsAsync(oidc.refreshTokenGrant(config, tokens.refresh_token!));
});

test('discovery names our own host, whatever Host header a client sends', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const { port } = new URL(server.url);
  const body = await new Promise<string>((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: '/oidc/.well-known/openid-configuration', headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve(text));
    });
    request.on('error', reject);
    request.end();
  });
  const metadata = JSON.parse(body) as Record<string, unknown>;
  t.is(metadata.authorization_endpoint, `${server.url}/oidc/auth`);
  t.is(metadata.end_session_endpoint, `${server.url}/oidc/session/end`);
  t.false(body.includes('evil.example'));
});
