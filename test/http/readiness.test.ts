import test from 'ava';
import { freePort } from '../helpers/process-server.js';
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

test('/readyz: 503 naming Redis when REDIS_URL points at a closed port, while /healthz stays 200', async (t) => {
  const closedPort = await freePort();
  const server = await startServer(t, { env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` } });
  const answer = await readyz(server.url);
  t.is(answer.status, 503);
  t.deepEqual(answer.body, { status: 'unavailable', checks: { database: 'up', redis: 'down' } });
  t.is((await fetch(`${server.url}/healthz`)).status, 200, 'liveness does not depend on Redis');
});

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
