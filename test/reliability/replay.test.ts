import test from 'ava';
import { recordedScene } from '../helpers/recorded-scene.js';
import { createTestClock } from '../helpers/test-clock.js';
import { startServer, plainScanLogin } from '../helpers/server.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

test('a captured, validly signed callback replayed after the tolerance gets 401 and changes nothing', async (t) => {
  const clock = createTestClock();
  const server = await startServer(t, { env: { ...plainScanLogin, WECHAT_TIMESTAMP_TOLERANCE_SECONDS: '5' }, clock: clock.now });
  const scene = await recordedScene(server);
  // Captured on the wire: a genuine signature, never delivered.
  const capturedQuery = signedQuery();
  const capturedBody = eventXml({ openid: 'o_replayed', event: 'SCAN', eventKey: scene });
  // A delivered one, captured too.
  const deliveredQuery = signedQuery();
  const deliveredBody = eventXml({ openid: 'o_delivered', event: 'unsubscribe' });
  t.is((await postCallback(server.url, deliveredQuery, deliveredBody)).status, 200);

  // Ten seconds later on the server's clock: both are past the tolerance.
  clock.advance(10_000);
  const replayed = await postCallback(server.url, capturedQuery, capturedBody);
  t.is(replayed.status, 401);
  t.is((await postCallback(server.url, deliveredQuery, deliveredBody)).status, 401);
  t.is(await server.knex('users').where({ openid: 'o_replayed' }).first(), undefined);
});
