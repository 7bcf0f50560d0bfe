import test from 'ava';
import * as oidc from 'openid-client';
import { loadConfig } from '../../src/config.js';
import { logInThroughApplication, startAuthorization, testClient } from '../helpers/oidc-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';

const spa = { client_id: 'spa', token_endpoint_auth_method: 'none', redirect_uris: ['https://spa.example/callback'] };
const env = { ...plainScanLogin, OIDC_CLIENTS: JSON.stringify([spa, testClient]) };

test('a public client (a single-page app) logs a person in with PKCE and no secret', async (t) => {
  const server = await startServer(t, { env });
  const config = await oidc.discovery(new URL(`${server.url}/oidc`), spa.client_id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const start = await startAuthorization(config, {}, spa.redirect_uris[0]);
  const { callback } = await logInThroughApplication(server, start, { openid: 'o_spa', phone: '13800138061' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce, idTokenExpected: true });
  t.truthy(tokens.claims()!.sub);
  t.is(tokens.refresh_token, undefined, 'a browser gets no refresh token');
});

test('CORS: the token endpoint answers the origin of the client\'s own redirect URIs, and refuses any other; discovery and the JWKS say "null" to strangers', async (t) => {
  const server = await startServer(t, { env });
  const tokenFrom = (origin: string) =>
    fetch(`${server.url}/oidc/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: spa.client_id, grant_type: 'authorization_code', code: 'not-a-code', code_verifier: 'x'.repeat(43), redirect_uri: spa.redirect_uris[0] }),
    });
  const own = await tokenFrom('https://spa.example');
  t.is(own.headers.get('access-control-allow-origin'), 'https://spa.example');
  const stranger = await tokenFrom('https://evil.example');
  t.is(stranger.status, 400);
  t.is(stranger.headers.get('access-control-allow-origin'), null);
  t.regex(JSON.stringify(await stranger.json()), /not allowed/);
  for (const path of ['/oidc/.well-known/openid-configuration', '/oidc/jwks']) {
    t.is((await fetch(`${server.url}${path}`, { headers: { origin: 'https://spa.example' } })).headers.get('access-control-allow-origin'), 'https://spa.example', path);
    t.is((await fetch(`${server.url}${path}`, { headers: { origin: 'https://evil.example' } })).headers.get('access-control-allow-origin'), 'null', path);
  }
  // The login itself is never cross-origin.
  t.is((await fetch(`${server.url}/oidc/auth?client_id=spa`, { headers: { origin: 'https://spa.example' }, redirect: 'manual' })).headers.get('access-control-allow-origin'), null);
});

test('a public client with a secret, or with refresh tokens, stops the start', (t) => {
  t.throws(() => loadConfig({ OIDC_CLIENTS: JSON.stringify([{ ...spa, client_secret: 'a-secret-of-enough-length' }]) }), { message: /is public .* must have no client_secret/ });
  t.throws(() => loadConfig({ OIDC_CLIENTS: JSON.stringify([{ ...spa, grant_types: ['authorization_code', 'refresh_token'] }]) }), { message: /gets no refresh_token/ });
});
