import test from 'ava';
import * as oidc from 'openid-client';
import { databaseKinds } from '../helpers/databases.js';
import { discover, followToApplication, logInThroughApplication, oidcEnv, pathOf, startAuthorization, type AuthorizationStart } from '../helpers/oidc-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { createTestClock } from '../helpers/test-clock.js';

/** The ID token's auth_time for an application's callback (openid-client checks the rest). */
async function authTimeOf(config: oidc.Configuration, callback: URL, start: AuthorizationStart, maxAge?: number): Promise<number> {
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: start.verifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
    idTokenExpected: true,
    ...(maxAge === undefined ? {} : { maxAge }),
  });
  return tokens.claims()!.auth_time!;
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  for (const [asked, extra] of [
    ['prompt=login', { prompt: 'login' } as Record<string, string>],
    ['max_age=5 after a login 10 s old', { max_age: '5' } as Record<string, string>],
    ['max_age=1 after a login 10 s old', { max_age: '1' } as Record<string, string>],
  ] as const) {
    declare(`${kind}: ${asked}: the person scans again, and auth_time is the new login; without it, the old login stands`, async (t) => {
      const clock = createTestClock();
      const server = await startServer(t, { database: kind, env: { ...plainScanLogin, ...oidcEnv }, clock: clock.now });
      const config = await discover(server);
      // The first login, ten seconds ago on this server's clock.
      clock.advance(-10_000);
      // max_age of an hour: the ID token then carries auth_time, and nothing asks for a new login.
      const hour = { max_age: '3600' };
      const first = await startAuthorization(config, hour);
      const { browser, callback } = await logInThroughApplication(server, first, { openid: 'o_again', phone: '13800138051' });
      const before = await authTimeOf(config, callback, first, 3600);
      clock.advance(10_000);

      // Without prompt or max_age: straight back to the application, with the same login.
      const plain = await startAuthorization(config, hour);
      const straight = await followToApplication(browser, pathOf(plain.url));
      t.truthy(straight.location, 'no new scan');
      t.is(await authTimeOf(config, straight.location!, plain, 3600), before);

      // With it: the QR page again, for the signed-in browser too; after the scan, the new login's time.
      const again = await startAuthorization(config, { ...hour, ...extra });
      const stopped = await followToApplication(browser, pathOf(again.url));
      t.is(stopped.location, undefined, 'no code without a new login');
      t.regex(new URL(stopped.response.url).search, /fresh=1/);
      const relogged = await logInThroughApplication(server, again, { openid: 'o_again' }, browser);
      const after = await authTimeOf(config, relogged.callback, again, 'max_age' in extra ? Number(extra.max_age) : 3600);
      t.true(after - before >= 9, `auth_time moved from ${before} to ${after}`);
    });
  }
}

test('prompt=login right after a login (the same second) still asks for a scan, and max_age=0 does not loop once the person has scanned', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, ...oidcEnv } });
  const config = await discover(server);
  // max_age makes the ID token carry auth_time.
  const first = await startAuthorization(config, { max_age: '3600' });
  const { browser, callback } = await logInThroughApplication(server, first, { openid: 'o_quick', phone: '13800138052' });
  const before = await authTimeOf(config, callback, first, 3600);

  for (const extra of [{ prompt: 'login', max_age: '3600' }, { max_age: '0' }] as Record<string, string>[]) {
    const again = await startAuthorization(config, extra);
    const stopped = await followToApplication(browser, pathOf(again.url));
    t.is(stopped.location, undefined, `${JSON.stringify(extra)}: no code without a new login`);
    t.regex(new URL(stopped.response.url).search, /fresh=1/);
    // The scan that follows is the fresh login: back at the application, not at the QR page again.
    const relogged = await logInThroughApplication(server, again, { openid: 'o_quick' }, browser);
    t.true((await authTimeOf(config, relogged.callback, again, Number(extra.max_age))) >= before);
  }
});
