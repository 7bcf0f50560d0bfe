import test from 'ava';
import * as oidc from 'openid-client';
import { createPersona } from '../helpers/confirm-flow.js';
import { databaseKinds } from '../helpers/databases.js';
import { startLogoutReceiver, verifyLogoutToken } from '../helpers/logout-receiver.js';
import { sampleValue } from '../helpers/metrics-text.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { discover, followToApplication, logInThroughApplication, pathOf, startAuthorization, testClient } from '../helpers/oidc-flow.js';
import { plainScanLogin, startServer, type StartOptions } from '../helpers/server.js';
import { sessionEndings, type SignedInThroughApplication } from '../helpers/session-endings.js';
import { createTestClock } from '../helpers/test-clock.js';

/**
 * OpenID Connect Back-Channel Logout: an application registered with a
 * backchannel_logout_uri gets a logout token whenever the session here that
 * it logged in under ends, whatever ended it, from the outbox, with retries.
 */
const sessionRequired = { client_id: 'bc-app', session: true };

async function signedInWithReceiver(t: Parameters<typeof startServer>[0], options: StartOptions & { phone?: string } = {}) {
  const receiver = await startLogoutReceiver(t);
  const client = { ...testClient, client_id: sessionRequired.client_id, backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true };
  const server = await startServer(t, { ...options, env: { ...plainScanLogin, OIDC_CLIENTS: JSON.stringify([client]), ...options.env } });
  const openid = await createPersona(server, 'Leaver');
  const config = await discover(server, client);
  const start = await startAuthorization(config, { scope: 'openid phone offline_access', prompt: 'consent' });
  const { browser, callback } = await logInThroughApplication(server, start, { openid, phone: options.phone ?? '13800138091' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  const user = await server.knex('users').where({ openid }).first('id');
  const session = await server.knex('user_sessions').where({ user_id: user.id }).whereNull('revoked_at').first('id');
  const signed: SignedInThroughApplication = { openid, server, browser, userId: user.id, sessionId: session.id, config, idToken: tokens.id_token! };
  return { signed, receiver, tokens, client, issuer: `${server.url}/oidc` };
}

const deliveredRows = (signed: SignedInThroughApplication) => signed.server.knex('outbox').where({ channel: 'backchannel-logout', state: 'delivered' });

for (const { kind, enabled } of databaseKinds) {
  // Every ending on SQLite; on MariaDB, one ended by a request, one by WeChat and one by time.
  const ways = Object.entries(sessionEndings).filter(([way]) => kind === 'sqlite' || ['logging out', 'unfollowing', 'the absolute lifetime'].includes(way));
  for (const [way, end] of ways) {
    (enabled ? test : test.skip)(`${kind}: after ${way}, the application gets one logout token for its session, and its refresh token is refused`, async (t) => {
      const { signed, receiver, tokens, client, issuer } = await signedInWithReceiver(t, { database: kind });
      await signed.server.handle.jobs.sendOutbox();
      t.is(receiver.received.length, 0, 'nothing while the session lives');

      await end(signed);
      await signed.server.handle.jobs.sendOutbox();
      t.is(receiver.received.length, 1);
      const claims = await verifyLogoutToken(receiver.received[0], issuer, client.client_id);
      const idClaims = tokens.claims()!;
      t.is(claims.sub, idClaims.sub);
      t.truthy(idClaims.sid, 'a client that requires sid finds it in the ID token');
      t.is(claims.sid, idClaims.sid as string);
      t.is((await deliveredRows(signed)).length, 1);

      // Sent once: another round finds nothing to send.
      await signed.server.handle.jobs.sendOutbox();
      t.is(receiver.received.length, 1);
      const refused = await t.throwsAsync<oidc.ResponseBodyError>(oidc.refreshTokenGrant(signed.config, tokens.refresh_token!));
      t.is(refused?.error, 'invalid_grant');
    });
  }
}

test('a receiver that fails is tried again after 10 s with a fresh token for the same session, until it takes it', async (t) => {
  const clock = createTestClock();
  const { signed, receiver, client, issuer } = await signedInWithReceiver(t, { clock: clock.now });
  receiver.state.status = 503;
  await sessionEndings['logging out'](signed);
  await signed.server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 1);
  const [row] = await signed.server.knex('outbox').where({ channel: 'backchannel-logout' });
  t.is(row.state, 'pending');
  t.is(Number(row.attempts), 1);
  t.is(row.last_error, 'answered 503', 'the status alone: never the application URI, which may carry a secret');

  // Not due yet: nothing is sent.
  await signed.server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 1);

  receiver.state.status = 204;
  clock.advance(10_000);
  await signed.server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 2);
  const [first, second] = await Promise.all(receiver.received.map((token) => verifyLogoutToken(token, issuer, client.client_id)));
  t.is(first.sid, second.sid);
  t.not(first.jti, second.jti);
  t.is((await deliveredRows(signed)).length, 1);
  const metrics = await (await fetch(`${signed.server.url}/metrics`)).text();
  t.is(sampleValue(metrics, 'wechat_login_outbox_attempts_total', { channel: 'backchannel-logout', outcome: 'retry' }), 1);
  t.is(sampleValue(metrics, 'wechat_login_outbox_attempts_total', { channel: 'backchannel-logout', outcome: 'delivered' }), 1);
});

test('a receiver that fails for a whole day is given up, and the failure is kept', async (t) => {
  const clock = createTestClock();
  const { signed, receiver } = await signedInWithReceiver(t, { clock: clock.now });
  receiver.state.status = 500;
  await sessionEndings['logging out'](signed);
  await signed.server.handle.jobs.sendOutbox();
  clock.advance(24 * 60 * 60 * 1000);
  await signed.server.handle.jobs.sendOutbox();
  const [row] = await signed.server.knex('outbox').where({ channel: 'backchannel-logout' });
  t.is(row.state, 'failed');
  t.is(Number(row.attempts), 2);
  t.regex(row.last_error, /500/);
  // Given up: no more attempts.
  clock.advance(24 * 60 * 60 * 1000);
  await signed.server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 2);
});

test('a new session in the same browser is a new session of the application: a new sid, and the old logout token names the old one', async (t) => {
  const { signed, receiver, tokens, client, issuer } = await signedInWithReceiver(t);
  await sessionEndings['logging out'](signed);
  const start = await startAuthorization(signed.config, { scope: 'openid phone' });
  const { callback } = await logInThroughApplication(signed.server, start, { openid: signed.openid }, signed.browser);
  const again = await oidc.authorizationCodeGrant(signed.config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  t.not(again.claims()!.sid, tokens.claims()!.sid as string);
  await signed.server.handle.jobs.sendOutbox();
  t.is(receiver.received.length, 1);
  t.is((await verifyLogoutToken(receiver.received[0], issuer, client.client_id)).sid, tokens.claims()!.sid as string);
});

test('an application without a backchannel_logout_uri gets no logout token; discovery says back-channel logout is supported', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, OIDC_CLIENTS: JSON.stringify([testClient]) } });
  const config = await discover(server);
  t.is(config.serverMetadata().backchannel_logout_supported, true);
  t.is(config.serverMetadata().backchannel_logout_session_supported, true);
  const start = await startAuthorization(config);
  const { browser } = await logInThroughApplication(server, start, { openid: 'o_no_backchannel', phone: '13800138092' });
  const csrf = (await (await browser.get('/profile')).text()).match(/name="_csrf" value="([^"]+)"/)![1];
  await browser.postForm('/logout', { _csrf: csrf });
  t.is((await server.knex('outbox').count({ n: '*' }))[0].n, 0);
});

test('a token the application refuses for one session never holds back the token of its next session (found by an outside review)', async (t) => {
  const { signed, receiver, tokens, client, issuer } = await signedInWithReceiver(t);
  const start = await startAuthorization(signed.config, { scope: 'openid phone' });
  const second = await logInThroughApplication(signed.server, start, { openid: signed.openid });
  const tokens2 = await oidc.authorizationCodeGrant(signed.config, second.callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce });
  // The application answers 400 for the first session (one it no longer knows, say), 200 for the second.
  receiver.state.status = 400;
  await sessionEndings['logging out'](signed);
  await signed.server.handle.jobs.sendOutbox();
  receiver.state.status = 200;
  await sessionEndings['logging out']({ ...signed, browser: second.browser });
  await signed.server.handle.jobs.sendOutbox();
  const sids = await Promise.all(receiver.received.map(async (token) => (await verifyLogoutToken(token, issuer, client.client_id)).sid));
  t.deepEqual(sids, [tokens.claims()!.sid as string, tokens2.claims()!.sid as string]);
});

test("a browser that still holds one person's provider session, signed in here as another: logout tokens name the one signed in here (found by an outside review)", async (t) => {
  const { signed, receiver } = await signedInWithReceiver(t);
  const alice = String(signed.userId);
  await sessionEndings['logging out'](signed);
  await signed.server.handle.jobs.sendOutbox();
  const afterAlice = receiver.received.length;
  // Bob signs in here in the same browser; the provider's cookie still names Alice.
  const bob = await createPersona(signed.server, 'Bob');
  const { phoneFor, poll, bindPhone } = await import('../helpers/login-flow.js');
  const page = await (await signed.browser.get('/login')).text();
  const scene = page.match(/data-scene="([^"]+)"/)![1];
  const pending = poll(signed.browser, scene);
  await phoneFor(signed.server).scan(bob, scene, 'ticket', true);
  if ((await pending).body.status === 'bind') await bindPhone(signed.server, signed.browser, '13800138093');
  const start = await startAuthorization(signed.config, { scope: 'openid phone' });
  await followToApplication(signed.browser, pathOf(start.url));
  const ties = await signed.server.knex('oidc_grant_sessions as g').join('user_sessions as s', 's.id', 'g.user_session_id').whereNotNull('g.account_id').select('g.account_id', 's.user_id');
  t.true(ties.every((tie: { account_id: string; user_id: number }) => tie.account_id === String(tie.user_id)), JSON.stringify(ties));
  await sessionEndings['logging out'](signed);
  await signed.server.handle.jobs.sendOutbox();
  const subs = receiver.received.slice(afterAlice).map((token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub);
  t.false(subs.includes(alice), `tokens after Bob's logout: ${JSON.stringify(subs)}`);
});

test('prompt=login from a signed-out browser takes one scan, not two (found by an outside review)', async (t) => {
  const { signed } = await signedInWithReceiver(t);
  await sessionEndings['logging out'](signed);
  const start = await startAuthorization(signed.config, { prompt: 'login' });
  const { callback } = await logInThroughApplication(signed.server, start, { openid: signed.openid }, new BrowserClient(signed.server.url, { 'user-agent': 'ava-test-browser' }));
  t.truthy(callback.searchParams.get('code'));
});
