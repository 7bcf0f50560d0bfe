import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.js';
import { demoClientId } from '../../src/config/oidc-clients.js';
import { loadOidcSigningKeys, rotateOidcSigningKeys } from '../../src/oidc/signing-keys.js';
import { deriveKeys } from '../../src/security/keys.js';
import { databaseKinds, migratedDatabase } from '../helpers/databases.js';
import { oidcEnv, testClient } from '../helpers/oidc-flow.js';
import { startServer } from '../helpers/server.js';

const realAccount = { WECHAT_APP_ID: 'wx1', WECHAT_APP_SECRET: 's', WECHAT_TOKEN: 'tok', SESSION_KEYS: 'a-long-enough-production-key' };

function problemsOf(env: Record<string, string>): string {
  const error = (() => {
    try {
      loadConfig(env);
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  if (!(error instanceof ConfigError)) throw new Error('expected a ConfigError');
  return error.message;
}

test('OIDC_CLIENTS turns the provider on; without it (and without the simulator) it is off', (t) => {
  t.false(loadConfig(realAccount).oidc.enabled);
  const config = loadConfig({ ...realAccount, ...oidcEnv });
  t.true(config.oidc.enabled);
  t.deepEqual(
    config.oidc.clients.map((client) => [client.client_id, client.token_endpoint_auth_method]),
    [
      ['test-app', 'client_secret_basic'],
      ['post-app', 'client_secret_post'],
    ],
  );
});

test('simulator mode adds the demo client, pointed at this server', (t) => {
  const config = loadConfig({ PUBLIC_URL: 'http://localhost:4000' });
  t.true(config.oidc.enabled);
  const demo = config.oidc.clients.find((client) => client.client_id === demoClientId)!;
  t.deepEqual(demo.redirect_uris, ['http://localhost:4000/simulator/demo-app/callback']);
});

test('bad JSON stops the start with one message naming the variable, never quoting the secret', (t) => {
  const message = problemsOf({ ...realAccount, OIDC_CLIENTS: '[{"client_id":"a","client_secret":"sup3r-secret-value-123",' });
  t.regex(message, /OIDC_CLIENTS: not valid JSON/);
  t.false(message.includes('sup3r-secret'));
});

test('a client without redirect_uris, a short secret, a bad auth method: each named by its client_id', (t) => {
  const clients = [
    { client_id: 'no-redirects', client_secret: 'sup3r-secret-value-123' },
    { client_id: 'short', client_secret: 'tiny', redirect_uris: ['https://a.example/cb'] },
    { client_id: 'method', client_secret: 'sup3r-secret-value-456', redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'private_key_jwt' },
    { client_id: 'fragment', client_secret: 'sup3r-secret-value-789', redirect_uris: ['https://a.example/cb#x'] },
  ];
  const message = problemsOf({ ...realAccount, OIDC_CLIENTS: JSON.stringify(clients) });
  t.regex(message, /client "no-redirects" needs redirect_uris/);
  t.regex(message, /client "short" needs a client_secret of at least 16 characters/);
  t.regex(message, /client "method" has an unknown token_endpoint_auth_method/);
  t.regex(message, /client "fragment" needs redirect_uris/);
  t.false(message.includes('sup3r-secret'));
  t.false(message.includes('tiny'));
});

test('OIDC_CLIENTS_FILE reads the same array from a file; a missing file is named', (t) => {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'oidc-clients-'));
  const file = path.join(folder, 'clients.json');
  writeFileSync(file, JSON.stringify([testClient]));
  t.deepEqual(loadConfig({ ...realAccount, OIDC_CLIENTS_FILE: file }).oidc.clients[0].redirect_uris, testClient.redirect_uris);
  t.regex(problemsOf({ ...realAccount, OIDC_CLIENTS_FILE: path.join(folder, 'missing.json') }), /OIDC_CLIENTS_FILE: cannot read .*missing\.json \(ENOENT\)/);
  t.regex(problemsOf({ ...realAccount, OIDC_CLIENTS_FILE: file, ...oidcEnv }), /both set/);
});

for (const { kind, enabled } of databaseKinds) {
  const dbTest = enabled ? test : test.skip;

  dbTest(`${kind}: the signing key is made once, stored encrypted, and rotation keeps the previous one published`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const keys = deriveKeys(['first-session-key-0123456789']).oidcSigningKey;

    // Two servers starting at once agree on one key.
    const [a, b] = await Promise.all([loadOidcSigningKeys(knex, keys), loadOidcSigningKeys(knex, keys)]);
    t.is(a.length, 1);
    t.is(a[0].kid, b[0].kid);
    const rows = await knex('oidc_signing_keys').select('*');
    t.is(rows.length, 1);
    // The private exponent never reaches the database in clear.
    t.false(rows[0].encrypted_jwk.includes(a[0].d!));
    t.false(rows[0].encrypted_jwk.includes('"d"'));

    // Another SESSION_KEYS cannot read it, and says what to do.
    const other = deriveKeys(['another-session-key-0123456789']).oidcSigningKey;
    await t.throwsAsync(loadOidcSigningKeys(knex, other), { message: /Keep the old key in SESSION_KEYS/ });
    // The old key kept after a new one still reads it.
    const rotatedSessionKeys = deriveKeys(['another-session-key-0123456789', 'first-session-key-0123456789']).oidcSigningKey;
    t.is((await loadOidcSigningKeys(knex, rotatedSessionKeys))[0].kid, a[0].kid);

    const first = await rotateOidcSigningKeys(knex, rotatedSessionKeys);
    t.is(first.generation, 2);
    t.is(first.previousKid, a[0].kid);
    t.deepEqual(first.removedKids, []);
    t.deepEqual((await loadOidcSigningKeys(knex, rotatedSessionKeys)).map((key) => key.kid), [first.kid, a[0].kid]);

    const second = await rotateOidcSigningKeys(knex, rotatedSessionKeys);
    t.deepEqual(second.removedKids, [a[0].kid]);
    t.deepEqual((await loadOidcSigningKeys(knex, rotatedSessionKeys)).map((key) => key.kid), [second.kid, first.kid]);
  });
}

test('after a rotation and a restart, the new key signs and both are in the JWKS', async (t) => {
  const first = await startServer(t, { env: oidcEnv });
  const before = (await (await fetch(`${first.url}/oidc/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
  t.is(before.keys.length, 1);
  t.is(before.keys[0].d, undefined, 'only public keys are published');
  const rotation = await rotateOidcSigningKeys(first.knex, first.config.keys.oidcSigningKey);
  // A second server on the same database stands for the restarted one.
  const { createApp } = await import('../../src/app.js');
  const restarted = createApp({ config: first.config, knex: first.knex, logger: { info() {}, warn() {}, error() {} } });
  await restarted.ready();
  const http = await import('node:http');
  const listener = http.createServer(restarted.app.callback());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    listener.closeAllConnections();
    await new Promise((resolve) => listener.close(resolve));
    await restarted.close();
  });
  const port = (listener.address() as { port: number }).port;
  const after = (await (await fetch(`http://127.0.0.1:${port}/oidc/jwks`)).json()) as { keys: { kid: string }[] };
  t.deepEqual(
    after.keys.map((key) => key.kid),
    [rotation.kid, before.keys[0].kid],
  );
});

test('backchannel_logout_uri: one http(s) address, https in production; backchannel_logout_session_required a boolean', (t) => {
  const withClient = (extra: Record<string, unknown>, env: Record<string, string> = {}) => ({
    ...realAccount,
    ...env,
    OIDC_CLIENTS: JSON.stringify([{ ...testClient, ...extra }]),
  });
  const accepted = loadConfig(withClient({ backchannel_logout_uri: 'http://127.0.0.1:9000/logout', backchannel_logout_session_required: true })).oidc.clients[0];
  t.is(accepted.backchannel_logout_uri, 'http://127.0.0.1:9000/logout');
  t.true(accepted.backchannel_logout_session_required);
  t.regex(problemsOf(withClient({ backchannel_logout_uri: 'ftp://app.example/logout' })), /client "test-app" has a bad backchannel_logout_uri/);
  t.regex(problemsOf(withClient({ backchannel_logout_uri: ['https://app.example/logout'] })), /bad backchannel_logout_uri/);
  t.regex(problemsOf(withClient({ backchannel_logout_session_required: 'yes' })), /backchannel_logout_session_required that is not true or false/);
  const production = { NODE_ENV: 'production', PUBLIC_URL: 'https://login.example', WECHAT_ORIGINAL_ID: 'gh_1', SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: 'https://sms.example/send' };
  t.regex(problemsOf(withClient({ backchannel_logout_uri: 'http://app.example/logout' }, production)), /needs an https:\/\/ backchannel_logout_uri when NODE_ENV=production/);
});
