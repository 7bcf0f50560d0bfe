import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import knexFactory from 'knex';
import * as oidc from 'openid-client';
import { knexConfigFromUrl } from '../../src/db/knex.js';
import { BrowserClient, sceneOf } from '../helpers/browser-client.js';
import { createMysqlDatabase } from '../helpers/databases.js';
import { followToApplication, oidcEnv, pathOf, startAuthorization, discover, testClient } from '../helpers/oidc-flow.js';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/process-server.js';
import { plainScanLogin } from '../helpers/server.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const mysqlTest = process.env.TEST_MYSQL === '1' && process.env.TEST_REDIS === '1' ? test.serial : test.serial.skip;

/**
 * The load balancer in front of two instances: each request goes to the
 * instance the test names. The simulator's WeChat API always goes to A (its
 * tokens live in A's memory; real WeChat is one service).
 */
async function startBalancer(port: number) {
  let target: ServerProcess | undefined;
  let simulator: ServerProcess | undefined;
  const server = http.createServer((request, response) => {
    const upstream = new URL(request.url!.startsWith('/simulator/') ? simulator!.url : target!.url);
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    route(to: ServerProcess, wechat = simulator ?? to) {
      target = to;
      simulator = wechat;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

mysqlTest('two instances behind one address, sharing MariaDB and Redis: a code issued by A is redeemed at B', async (t) => {
  const database = await createMysqlDatabase();
  const knex = knexFactory(knexConfigFromUrl(database.url));
  await knex.migrate.latest();
  t.teardown(async () => {
    await knex.destroy();
    await database.drop();
  });
  // A returning WeChat user with a bound phone: the scan logs the browser in at once.
  const now = new Date();
  await knex('users').insert({ openid: 'o_oidc_scale', phone: '13900139000', nickname: '小明', subscribed: true, created_at: now, updated_at: now });
  const user = await knex('users').where({ openid: 'o_oidc_scale' }).first();

  const balancer = await startBalancer(await freePort());
  t.teardown(() => balancer.close());
  const env = { ...plainScanLogin, ...oidcEnv, DATABASE_URL: database.url, REDIS_URL: redisUrl, PUBLIC_URL: balancer.url };
  // Started one after the other: the first makes the signing key, the second reads it.
  const a = await startServerProcess(env);
  const b = await startServerProcess(env);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  t.is((await knex('oidc_signing_keys').count({ n: '*' }))[0].n, 1);

  balancer.route(a);
  const config = await discover(balancer);
  oidc.enableNonRepudiationChecks(config);
  const start = await startAuthorization(config);
  const browser = new BrowserClient(balancer.url, { 'user-agent': 'ava-test-browser' });
  const toLogin = await followToApplication(browser, pathOf(start.url));
  t.is(toLogin.response.status, 200);
  const scene = sceneOf(await toLogin.response.text());
  const scanned = await postCallback(balancer.url, signedQuery(), eventXml({ openid: 'o_oidc_scale', event: 'SCAN', eventKey: scene }));
  t.is(scanned.status, 200);
  const polled = (await (await browser.get(`/login/poll?scene=${scene}`)).json()) as { status: string; redirect: string };
  t.is(polled.status, 'success');
  const back = await followToApplication(browser, polled.redirect);
  t.truthy(back.location);

  // The application's token request lands on B.
  balancer.route(b, a);
  const tokens = await oidc.authorizationCodeGrant(config, back.location!, {
    pkceCodeVerifier: start.verifier,
    expectedState: start.state,
    expectedNonce: start.nonce,
  });
  t.is(tokens.claims()!.sub, String(user.id));
  t.is(tokens.claims()!.name, '小明');
  const info = await oidc.fetchUserInfo(config, tokens.access_token, String(user.id));
  t.is(info.phone_number, '+8613900139000');

  // The same code again, now at A: already consumed, in the shared database.
  balancer.route(a);
  const reused = await t.throwsAsync(
    oidc.authorizationCodeGrant(config, back.location!, { pkceCodeVerifier: start.verifier, expectedState: start.state, expectedNonce: start.nonce }),
    { instanceOf: oidc.ResponseBodyError },
  );
  t.is((reused as oidc.ResponseBodyError).error, 'invalid_grant');
  t.is(tokens.claims()!.aud, testClient.client_id);
});
