import test from 'ava';
import { createSceneIssuer } from '../../src/login/scenes.js';
import { startServer } from '../helpers/server.js';
import { eventXml, postCallback, signedQuery } from '../helpers/wechat-push.js';

test('a captured, validly signed callback replayed after the tolerance gets 401 and changes nothing', async (t) => {
  const server = await startServer({ env: { WECHAT_TIMESTAMP_TOLERANCE_SECONDS: '1' } });
  t.teardown(() => server.close());
  const scene = createSceneIssuer(server.config.sessionKeys[0]).issueScene(Date.now() + 300_000);
  // Captured on the wire: a genuine signature, never delivered.
  const capturedQuery = signedQuery();
  const capturedBody = eventXml({ openid: 'o_replayed', event: 'SCAN', eventKey: scene });
  // A delivered one, captured too.
  const deliveredQuery = signedQuery();
  const deliveredBody = eventXml({ openid: 'o_delivered', event: 'unsubscribe' });
  t.is((await postCallback(server.url, deliveredQuery, deliveredBody)).status, 200);

  await new Promise((resolve) => setTimeout(resolve, 2500));
  const replayed = await postCallback(server.url, capturedQuery, capturedBody);
  t.is(replayed.status, 401);
  t.is((await postCallback(server.url, deliveredQuery, deliveredBody)).status, 401);
  t.is(await server.knex('users').where({ openid: 'o_replayed' }).first(), undefined);
});
