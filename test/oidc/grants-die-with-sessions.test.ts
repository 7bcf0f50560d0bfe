import test from 'ava';
import * as oidc from 'openid-client';
import { createAdminQueries } from '../../src/db/admin-queries.js';
import { createEndSessionLinks } from '../../src/login/session/end-session-links.js';
import { BrowserClient, csrfOf } from '../helpers/browser-client.js';
import { createPersona, openInWechat } from '../helpers/confirm-flow.js';
import { databaseKinds } from '../helpers/databases.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { discover, logInThroughApplication, oidcEnv, postClient, startAuthorization, testClient } from '../helpers/oidc-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 26, finding 1: someone signed in as the victim once asked an
 * application for offline_access; the refresh token kept minting tokens after
 * every way of evicting them. Now a grant, and every token issued from it,
 * lives only as long as the session of ours it was given in.
 */
interface Signed {
  openid: string;
  server: TestServer;
  browser: BrowserClient;
  userId: number;
  sessionId: number;
  config: oidc.Configuration;
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
  return { openid, server, browser, userId: user.id, sessionId: session.id, config, tokens };
}

/** A second browser of the same person, signed in by scanning (the phone is bound, so at once). */
async function secondBrowser(server: TestServer, openid: string): Promise<BrowserClient> {
  const { browser, scene } = await openLoginPage(server);
  const pending = poll(browser, scene);
  await phoneFor(server).scan(openid, scene, 'ticket', true);
  if ((await pending).body.status !== 'success') throw new Error('the second browser did not sign in');
  return browser;
}

const endings: Record<string, (signed: Signed) => Promise<void>> = {
  'logging out': async ({ browser }) => {
    const csrf = csrfOf(await (await browser.get('/profile')).text());
    if ((await browser.postForm('/logout', { _csrf: csrf })).status !== 303) throw new Error('logout failed');
  },
  '"log out other devices" on another browser': async ({ server, openid }) => {
    const other = await secondBrowser(server, openid);
    const csrf = csrfOf(await (await other.get('/profile')).text());
    if ((await other.postForm('/sessions/revoke', { _csrf: csrf, all: 'others' })).status !== 303) throw new Error('revoke failed');
  },
  'unfollowing': async ({ server, openid }) => {
    await phoneFor(server).unfollow(openid);
  },
  '"end this login" from the WeChat notice': async ({ server, openid, userId, sessionId }) => {
    const links = createEndSessionLinks({ keys: server.config.keys.link, publicUrl: server.url, lifetimeSeconds: 3600 });
    const opened = await openInWechat(server, openid, links.linkFor({ id: sessionId, userId }).slice(server.url.length));
    const token = opened.html.match(/name="t" value="([^"]+)"/)![1];
    if ((await opened.phone.postForm('/sessions/end', { _csrf: csrfOf(opened.html), t: token })).status !== 200) throw new Error('end link failed');
  },
  "the admin tool's end-sessions": async ({ server, userId }) => {
    await createAdminQueries(server.knex).endSessions([userId], new Date());
  },
  'idleness past SESSION_IDLE_TIMEOUT_SECONDS': async ({ server, sessionId }) => {
    const idle = new Date(Date.now() - (server.config.sessions.idleTimeoutSeconds + 60) * 1000);
    await server.knex('user_sessions').where({ id: sessionId }).update({ last_seen_at: idle });
  },
  'the absolute lifetime': async ({ server, sessionId }) => {
    await server.knex('user_sessions').where({ id: sessionId }).update({ expires_at: new Date(Date.now() - 1000) });
  },
};

for (const { kind, enabled } of databaseKinds) {
  for (const [way, end] of Object.entries(endings)) {
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
