import test from 'ava';
import { wechatTexts } from '../../../src/messages/wechat-texts.js';
import { aesKeyFromEncodingAesKey, decryptMessage, encryptMessage } from '../../../src/wechat/message-crypto.js';
import { computeSignature } from '../../../src/wechat/signature.js';
import { databaseKinds } from '../../helpers/databases.js';
import { openLoginPage, poll } from '../../helpers/login-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../../helpers/server.js';
import { eventXml, postCallback, replyContent, signedQuery, testToken } from '../../helpers/wechat-push.js';

/**
 * Issue 11, attack 1: WeChat's plaintext signature covers token, timestamp and
 * nonce, not the body. One logged request line (signature, timestamp, nonce)
 * must not let anyone attach another body: not a scan that logs the attacker in
 * as the victim, not an unfollow.
 */

const aesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** A victim who has logged in before: followed, phone bound. */
async function seedVictim(server: TestServer, openid: string) {
  const now = new Date();
  await server.knex('users').insert({ openid, phone: '13800138000', subscribed: true, session_version: 0, created_at: now, updated_at: now });
}

const victimRow = (server: TestServer, openid: string) =>
  server.knex('users').where({ openid }).first('tmp_scene_str', 'phone', 'subscribed', 'session_version');

/** The encrypted form of `inner` as WeChat sends it in safe mode, for the pair in `query`. */
function sealForSafeMode(server: TestServer, query: URLSearchParams, inner: string): string {
  const encrypt = encryptMessage(aesKeyFromEncodingAesKey(aesKey), inner, server.config.wechat.appId);
  query.set('encrypt_type', 'aes');
  query.set('msg_signature', computeSignature([testToken, query.get('timestamp')!, query.get('nonce')!, encrypt]));
  return `<xml><ToUserName><![CDATA[gh_simulator00001]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`;
}

function decryptedReply(text: string): string | undefined {
  const encrypt = text.match(/<Encrypt><!\[CDATA\[([^\]]+)\]\]><\/Encrypt>/)?.[1];
  return encrypt ? replyContent(decryptMessage(aesKeyFromEncodingAesKey(aesKey), encrypt).message) : undefined;
}

for (const { kind, enabled } of databaseKinds) {
  const dbTest = enabled ? test : test.skip;

  dbTest(`${kind}: a logged signature+timestamp+nonce with another body gets 401 and changes nothing; the same body is a retry`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    await seedVictim(server, 'o_victim');
    const victim = await openLoginPage(server);
    const genuineQuery = signedQuery();
    const genuineBody = eventXml({ openid: 'o_victim', event: 'SCAN', eventKey: victim.scene });
    const genuine = await postCallback(server.url, genuineQuery, genuineBody);
    t.is(genuine.status, 200);
    t.is(replyContent(genuine.text), wechatTexts.zh.loggedIn);

    // The attacker read signature, timestamp and nonce from an access log.
    const attacker = await openLoginPage(server);
    const takeover = await postCallback(server.url, genuineQuery, eventXml({ openid: 'o_victim', event: 'SCAN', eventKey: attacker.scene }));
    t.is(takeover.status, 401);
    t.is(takeover.text, 'replayed_nonce');
    const unfollow = await postCallback(server.url, genuineQuery, eventXml({ openid: 'o_victim', event: 'unsubscribe' }));
    t.is(unfollow.status, 401);
    t.deepEqual((await poll(attacker.browser, attacker.scene)).body, { status: 'pending' });
    t.like(await victimRow(server, 'o_victim'), { tmp_scene_str: victim.scene, phone: '13800138000', session_version: 0 });
    t.truthy((await victimRow(server, 'o_victim')).subscribed);

    // WeChat's retry of the genuine push: the first answer, and no second effect.
    const retry = await postCallback(server.url, genuineQuery, genuineBody);
    t.is(retry.status, 200);
    t.is(retry.text.replace(/<CreateTime>\d+<\/CreateTime>/, ''), genuine.text.replace(/<CreateTime>\d+<\/CreateTime>/, ''));
    t.deepEqual((await poll(victim.browser, victim.scene)).body, { status: 'success', redirect: '/profile' });
  });

  dbTest(`${kind}: with WECHAT_ENCODING_AES_KEY set, a plaintext push gets 401, with a logged pair or a fresh one`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, WECHAT_ENCODING_AES_KEY: aesKey } });
    await seedVictim(server, 'o_victim');
    const victim = await openLoginPage(server);
    const genuineQuery = signedQuery();
    const genuineBody = sealForSafeMode(server, genuineQuery, eventXml({ openid: 'o_victim', event: 'SCAN', eventKey: victim.scene }));
    const genuine = await postCallback(server.url, genuineQuery, genuineBody);
    t.is(genuine.status, 200);
    t.is(decryptedReply(genuine.text), wechatTexts.zh.loggedIn);

    const attacker = await openLoginPage(server);
    const forgedBody = eventXml({ openid: 'o_victim', event: 'SCAN', eventKey: attacker.scene });
    // The logged pair without encrypt_type and msg_signature, as in the attack.
    const logged = new URLSearchParams({ signature: genuineQuery.get('signature')!, timestamp: genuineQuery.get('timestamp')!, nonce: genuineQuery.get('nonce')! });
    const replayed = await postCallback(server.url, logged, forgedBody);
    t.is(replayed.status, 401);
    t.is(replayed.text, 'encryption_required');
    // Even a correctly signed, never-seen pair: only encrypted pushes are accepted in safe mode.
    const plaintext = await postCallback(server.url, signedQuery(), forgedBody);
    t.is(plaintext.status, 401);
    // The logged pair claiming encryption, with another (unsigned) body.
    const claimed = new URLSearchParams(genuineQuery);
    t.is((await postCallback(server.url, claimed, forgedBody)).status, 401);
    t.deepEqual((await poll(attacker.browser, attacker.scene)).body, { status: 'pending' });
    t.like(await victimRow(server, 'o_victim'), { tmp_scene_str: victim.scene, phone: '13800138000' });

    const retry = await postCallback(server.url, genuineQuery, genuineBody);
    t.is(retry.status, 200);
    t.is(decryptedReply(retry.text), wechatTexts.zh.loggedIn);
  });

  dbTest(`${kind}: one pair sent with two different bodies at once: exactly one is accepted`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const query = signedQuery();
    const answers = await Promise.all(
      ['o_first', 'o_second', 'o_third', 'o_fourth'].map((openid) => postCallback(server.url, query, eventXml({ openid, event: 'subscribe' }))),
    );
    t.deepEqual(answers.map((answer) => answer.status).sort(), [200, 401, 401, 401]);
    t.is(Number((await server.knex('users').count({ n: '*' }).first())!.n), 1);
  });

  dbTest(`${kind}: a push that failed after its pair was remembered completes on WeChat's retry with the same query`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const { browser, scene } = await openLoginPage(server);
    const query = signedQuery();
    const body = eventXml({ openid: 'o_retried', event: 'subscribe', eventKey: `qrscene_${scene}` });
    // The users table is away for a moment: the pair is remembered, the handling fails.
    await server.knex.schema.renameTable('users', 'users_away');
    const failed = await postCallback(server.url, query, body);
    t.true(failed.status >= 500, `WeChat must see a failure so that it retries (got ${failed.status})`);
    await server.knex.schema.renameTable('users_away', 'users');
    const retried = await postCallback(server.url, query, body);
    t.is(retried.status, 200);
    t.is(replyContent(retried.text), wechatTexts.zh.bindPhone);
    t.deepEqual((await poll(browser, scene)).body, { status: 'bind', redirect: '/bind' });
  });

  dbTest(`${kind}: the pair is remembered for the timestamp window: an old pair with a new body is still refused near the window's end`, async (t) => {
    const server = await startServer(t, { database: kind, env: { ...plainScanLogin, WECHAT_TIMESTAMP_TOLERANCE_SECONDS: '300' } });
    // A timestamp 290 s in the future (a skewed clock): accepted, and remembered until well past now + 290 s.
    const query = signedQuery({ timestamp: Math.floor(Date.now() / 1000) + 290 });
    t.is((await postCallback(server.url, query, eventXml({ openid: 'o_a', event: 'LOCATION' }))).status, 200);
    const row = await server.knex('callback_nonces').first('expires_at');
    const expiresAt = row.expires_at instanceof Date ? row.expires_at.getTime() : Number(row.expires_at);
    t.true(expiresAt >= (Number(query.get('timestamp')) + 300) * 1000, 'kept until the timestamp leaves the window');
    t.is((await postCallback(server.url, query, eventXml({ openid: 'o_b', event: 'LOCATION' }))).status, 401);
  });
}

test('a correctly signed push whose timestamp has a leading zero gets 401', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const { scene } = await openLoginPage(server);
  const timestamp = `0${Math.floor(Date.now() / 1000)}`;
  const query = new URLSearchParams({ signature: computeSignature([testToken, timestamp, 'n0']), timestamp, nonce: 'n0' });
  const pushed = await postCallback(server.url, query, eventXml({ openid: 'o_zero', event: 'SCAN', eventKey: scene }));
  t.is(pushed.status, 401);
  t.is(await server.knex('users').where({ openid: 'o_zero' }).first(), undefined, 'nothing recorded');
});
