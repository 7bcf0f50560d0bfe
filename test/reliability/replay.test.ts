import test from 'ava';
import { recordedScene } from '../helpers/recorded-scene.js';
import { startServer, plainScanLogin } from '../helpers/server.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

test('a captured, validly signed callback replayed after the tolerance gets 401 and changes nothing', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin, WECHAT_TIMESTAMP_TOLERANCE_SECONDS: '5' } });
  const scene = await recordedScene(server);
  // Captured on the wire 10 s ago: a genuine signature, never delivered.
  const capturedQuery = signedQuery({ timestamp: Math.floor(Date.now() / 1000) - 10 });
  const capturedBody = eventXml({ openid: 'o_replayed', event: 'SCAN', eventKey: scene });
  // A delivered one, captured too.
  const deliveredQuery = signedQuery();
  const deliveredBody = eventXml({ openid: 'o_delivered', event: 'unsubscribe' });
  t.is((await postCallback(server.url, deliveredQuery, deliveredBody)).status, 200);

  // Generous margins: the first delivery must be on time even on a loaded CI machine.
  await new Promise((resolve) => setTimeout(resolve, 6500));
  const replayed = await postCallback(server.url, capturedQuery, capturedBody);
  t.is(replayed.status, 401);
  t.is((await postCallback(server.url, deliveredQuery, deliveredBody)).status, 401);
  t.is(await server.knex('users').where({ openid: 'o_replayed' }).first(), undefined);
});
