import test from 'ava';
import * as oidc from 'openid-client';
import { csrfOf } from '../helpers/browser-client.js';
import { createPersona } from '../helpers/confirm-flow.js';
import { databaseKinds } from '../helpers/databases.js';
import { sessionEndings, type SignedInThroughApplication } from '../helpers/session-endings.js';
import { discover, logInThroughApplication, oidcEnv, postClient, startAuthorization, testClient } from '../helpers/oidc-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';

/**
 * Issue 26, finding 1: someone signed in as the victim once asked an
 * application for offline_access; the refresh token kept minting tokens after
 * every way of evicting them. Now a grant, and every token issued from it,
 * lives only as long as the session of ours it was given in.
 */
interface Signed extends SignedInThroughApplication {
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
}

async function signedInWithRefreshToken(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql'): Promise<Signed> {
  const server = await startServer(t, { database: kind, env: { ...plainScanLogin, ...oidcEnv } });
  // A simulator persona, so that links from WeChat messages open as that person.
  const openid = await createPersona(server, 'Victim');
  const config = await discover(server);
  const start = await startAuthorization(config, { scope: 'openid phone offline_access', prompt: 'consent' });
  const { browser, callback } = await logInThroughApplication(server, start, { openid, phone: '13800138077' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  if (!tokens.refresh_token) throw new Error('no refresh token');
  const user = await server.knex('users').where({ openid }).first('id');
  const session = await server.knex('user_sessions').where({ user_id: user.id }).whereNull('revoked_at').first('id');
  return { openid, server, browser, userId: user.id, sessionId: session.id, config, tokens, idToken: tokens.id_token! };
}

for (const { kind, enabled } of databaseKinds) {
  for (const [way, end] of Object.entries(sessionEndings)) {
    (enabled ? test : test.skip)(`${kind}: after ${way}, the refresh token and the access token of that session are refused`, async (t) => {
      const signed = await signedInWithRefreshToken(t, kind);
      // Alive while the session is.
      const refreshed = await oidc.refreshTokenGrant(signed.config, signed.tokens.refresh_token!);
      t.truthy(refreshed.access_token);
      await end(signed);
      await t.throwsAsync(oidc.refreshTokenGrant(signed.config, refreshed.refresh_token ?? signed.tokens.refresh_token!));
      await t.throwsAsync(oidc.fetchUserInfo(signed.config, refreshed.access_token, oidc.skipSubjectCheck));
    });
  }
}

test('offline_access gives a refresh token only to a client registered for it (grant_types)', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const config = await discover(server, postClient);
  const start = await startAuthorization(config, { scope: 'openid phone offline_access', prompt: 'consent' }, postClient.redirect_uris[0]);
  const { callback } = await logInThroughApplication(server, start, { openid: 'o_no_offline', phone: '13800138078' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  t.truthy(tokens.access_token);
  t.is(tokens.refresh_token, undefined);
  t.deepEqual(testClient.grant_types, ['authorization_code', 'refresh_token']);
});

test('a grant given in an earlier session is not reused: a new login in the same browser gets a new grant', async (t) => {
  const signed = await signedInWithRefreshToken(t, 'sqlite');
  const csrf = csrfOf(await (await signed.browser.get('/profile')).text());
  await signed.browser.postForm('/logout', { _csrf: csrf });
  // The same browser logs in to the application again: the old grant's tokens stay dead.
  const start = await startAuthorization(signed.config, { scope: 'openid phone offline_access', prompt: 'consent' });
  const { callback } = await logInThroughApplication(signed.server, start, { openid: signed.openid }, signed.browser);
  const again = await oidc.authorizationCodeGrant(signed.config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  t.truthy(again.refresh_token);
  await t.throwsAsync(oidc.refreshTokenGrant(signed.config, signed.tokens.refresh_token!));
  t.truthy((await oidc.refreshTokenGrant(signed.config, again.refresh_token!)).access_token);
});
