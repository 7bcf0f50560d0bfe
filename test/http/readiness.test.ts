import test from 'ava';
import { createKnex } from '../../src/db/knex.js';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';
import { freePort, startServerProcess } from '../helpers/process-server.js';
import { startServer } from '../helpers/server.js';


async function readyz(url: string) {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: await response.json(), id: response.headers.get('x-request-id') };
}

test('/readyz: 200 with the database up and no Redis configured', async (t) => {
  const server = await startServer(t);
  const answer = await readyz(server.url);
  t.is(answer.status, 200);
  t.deepEqual(answer.body, { status: 'ready', checks: { database: 'up', redis: 'not_configured' } });
  t.truthy(answer.id);
});

test('/readyz: 200 "degraded" naming Redis when REDIS_URL points at a closed port: logins work without it', async (t) => {
  const closedPort = await freePort();
  const server = await startServer(t, { env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` } });
  const answer = await readyz(server.url);
  t.is(answer.status, 200);
  t.deepEqual(answer.body, { status: 'degraded', checks: { database: 'up', redis: 'down' } });
  t.is((await fetch(`${server.url}/healthz`)).status, 200, 'liveness does not depend on Redis');
  t.is((await fetch(`${server.url}/login`)).status, 200, 'and the login page is served');
});

test('/readyz: 503 naming the migrations the database has not run, and 200 once they have', async (t) => {
  const server = await startServer(t);
  const [last] = await server.knex('knex_migrations').orderBy('id', 'desc').limit(1);
  await server.knex('knex_migrations').where({ id: last.id }).delete();
  const pending = await readyz(server.url);
  t.is(pending.status, 503);
  t.deepEqual(pending.body, { status: 'unavailable', checks: { database: 'up', redis: 'not_configured' }, pendingMigrations: [last.name] });
  await server.knex('knex_migrations').insert(last);
  t.is((await readyz(server.url)).status, 200);
});

/** A server on real WeChat settings (unreachable here) and no OpenID clients: nothing at start needs a table. */
const realWechatWithoutOidc = {
  WECHAT_SIMULATOR: 'off',
  WECHAT_APP_ID: 'wxreadinesstest001',
  WECHAT_APP_SECRET: 'readiness-secret',
  WECHAT_TOKEN: 'readiness-token',
  WECHAT_API_BASE: 'http://127.0.0.1:9',
};

for (const { kind, enabled } of databaseKinds.filter((entry) => entry.kind === 'mysql')) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: a server on a database nobody migrated says so at start, is not ready, and is ready once migrated`, async (t) => {
    const database = await createTestDatabase(kind);
    t.teardown(() => database.drop());
    const server = await startServerProcess({ DATABASE_URL: database.url, ...realWechatWithoutOidc });
    t.teardown(() => server.stop());
    const answer = await readyz(server.url);
    t.is(answer.status, 503);
    t.is(answer.body.status, 'unavailable');
    t.true(answer.body.pendingMigrations.includes('20261121000001_create_users.ts'));
    t.false(await hasTable(database.url, 'knex_migrations'), 'the probe wrote nothing');
    t.regex(server.output(), /the database is not migrated: run `npm run migrate`/);

    const knex = createKnex(database.url);
    await knex.migrate.latest();
    await knex.destroy();
    t.deepEqual((await readyz(server.url)).body, { status: 'ready', checks: { database: 'up', redis: 'not_configured' } });
  });

  declare(`${kind}: with the OpenID Provider on, an unmigrated database stops the start with one message that says what to run`, async (t) => {
    const database = await createTestDatabase(kind);
    t.teardown(() => database.drop());
    const error = await t.throwsAsync(startServerProcess({ DATABASE_URL: database.url }));
    t.regex(error!.message, /failed to start: the database is not migrated \(\d+ pending, from 20261121000001_create_users\.ts\): run `npm run migrate` first/);
  });
}

async function hasTable(url: string, table: string): Promise<boolean> {
  const knex = createKnex(url);
  try {
    return await knex.schema.hasTable(table);
  } finally {
    await knex.destroy();
  }
}

test('/readyz and /healthz: 503 when the database does not answer', async (t) => {
  const server = await startServer(t);
  await server.knex.destroy();
  const answer = await readyz(server.url);
  t.is(answer.status, 503);
  t.deepEqual(answer.body, { status: 'unavailable', checks: { database: 'down', redis: 'not_configured' } });
  t.is((await fetch(`${server.url}/healthz`)).status, 503);
});

test('/readyz: 503 "draining" while the server shuts down', async (t) => {
  const server = await startServer(t);
  server.handle.drain();
  const answer = await readyz(server.url);
  t.is(answer.status, 503);
  t.is(answer.body.status, 'draining');
});

const redisTest = process.env.TEST_REDIS === '1' ? test : test.skip;
redisTest('/readyz: 200 with Redis up', async (t) => {
  const server = await startServer(t, { env: { REDIS_URL: process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379' } });
  const answer = await readyz(server.url);
  t.is(answer.status, 200);
  t.deepEqual(answer.body, { status: 'ready', checks: { database: 'up', redis: 'up' } });
});
