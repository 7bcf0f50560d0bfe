import test from 'ava';
import { createUserQueries } from '../../../src/db/users.js';
import { createUnionidBackfill } from '../../../src/login/identity/unionid-backfill.js';
import { createUnionidBatchLookup } from '../../../src/login/identity/unionid-lookup.js';
import { WechatError, WechatNetworkError } from '../../../src/wechat/errors.js';
import { BrowserClient, sceneOf } from '../../helpers/browser-client.js';
import { databaseKinds, migratedDatabase } from '../../helpers/databases.js';
import { startFakeWechat } from '../../helpers/fake-wechat.js';
import { plainScanLogin, startServer } from '../../helpers/server.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { eventXml, postCallback, replyContent, signedQuery } from '../../helpers/wechat-push.js';

const at = new Date('2026-12-03T08:00:00.000Z');

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: 250 new users' unionids take three batch calls and three UPDATEs; a unionid already there is kept`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const users = createUserQueries(knex);
    const openids = Array.from({ length: 250 }, (_, index) => `o_new_${index}`);
    await knex('users').insert(openids.map((openid) => ({ openid, subscribed: true, session_version: 0, created_at: at, updated_at: at })));
    await knex('users').where({ openid: 'o_new_7' }).update({ unionid: 'u_known_before' });
    const calls: number[] = [];
    let statements = 0;
    knex.on('query', () => (statements += 1));
    const backfill = createUnionidBackfill({
      unionidsOf: async (asked) => {
        calls.push(asked.length);
        // WeChat gives no unionid for someone who unfollowed in the meantime.
        return new Map(asked.filter((openid) => openid !== 'o_new_3').map((openid) => [openid, `u_${openid.slice(2)}`]));
      },
      store: (unionids) => users.setUnionidsIfMissing(unionids, at),
      maxBatch: 100,
      windowMs: 10_000,
    });
    backfill.add('o_new_0');
    // A second delivery of one newcomer's scan: asked once.
    for (const openid of openids) backfill.add(openid);
    await backfill.settled();
    t.deepEqual(calls, [100, 100, 50]);
    t.is(statements, 3);
    const rows = new Map((await knex('users').select('openid', 'unionid')).map((row) => [row.openid, row.unionid]));
    t.is(rows.get('o_new_0'), 'u_new_0');
    t.is(rows.get('o_new_249'), 'u_new_249');
    t.is(rows.get('o_new_3'), null);
    t.is(rows.get('o_new_7'), 'u_known_before', 'never replaced');
  });

  declare(`${kind}: setUnionidsIfMissing leaves out a unionid too long for its column and sets the others`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const users = createUserQueries(knex);
    await knex('users').insert(['o_a', 'o_b'].map((openid) => ({ openid, subscribed: true, session_version: 0, created_at: at, updated_at: at })));
    t.is(await users.setUnionidsIfMissing(new Map([['o_a', 'u'.repeat(65)], ['o_b', 'u_b']]), at), 1);
    t.deepEqual(await knex('users').orderBy('openid').pluck('unionid'), [null, 'u_b']);
  });
}

test('the first openid waits windowMs for others; a failure is logged and the next batch goes on', async (t) => {
  const calls: string[][] = [];
  const stored: Map<string, string>[] = [];
  const warnings: string[] = [];
  let failNext = true;
  const backfill = createUnionidBackfill({
    unionidsOf: async (openids) => {
      calls.push(openids);
      if (failNext) {
        failNext = false;
        throw new WechatNetworkError('/cgi-bin/user/info/batchget', 'connection failed');
      }
      return new Map(openids.map((openid) => [openid, `u_${openid}`]));
    },
    store: async (unionids) => stored.push(unionids),
    maxBatch: 100,
    windowMs: 30,
    logger: { warn: (message) => warnings.push(message) },
  });
  backfill.add('a');
  backfill.add('b');
  t.deepEqual(calls, [], 'nothing is sent before the window closes');
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.deepEqual(calls, [['a', 'b']]);
  t.deepEqual(warnings, ['could not store the unionids of new users']);
  backfill.add('c');
  await backfill.settled();
  t.deepEqual(calls, [['a', 'b'], ['c']]);
  t.deepEqual(stored.map((map) => [...map]), [[['c', 'u_c']]]);
});

test('one openid WeChat refuses (40003) fails the batch call: each is then asked on its own', async (t) => {
  const single: string[] = [];
  const lookup = createUnionidBatchLookup(
    async (openids) => {
      if (openids.includes('o_gone')) throw new WechatError(40_003, 'invalid openid', '/cgi-bin/user/info/batchget');
      return [];
    },
    async (openid) => {
      single.push(openid);
      return openid === 'o_gone' ? undefined : `u_${openid}`;
    },
  );
  t.deepEqual([...(await lookup(['o_a', 'o_gone', 'o_b']))], [['o_a', 'u_o_a'], ['o_b', 'u_o_b']]);
  t.deepEqual(single, ['o_a', 'o_gone', 'o_b']);
});

test('only the openids asked for are taken from the answer', async (t) => {
  const lookup = createUnionidBatchLookup(
    async () => [
      { subscribe: 1, openid: 'o_asked', unionid: 'u_asked' },
      { subscribe: 1, openid: 'o_not_asked', unionid: 'u_other' },
      { subscribe: 0, openid: 'o_left' },
    ],
    async () => undefined,
  );
  t.deepEqual([...(await lookup(['o_asked', 'o_left']))], [['o_asked', 'u_asked']]);
});

test('without a mini-program, parallel newcomers are answered at once and get their unionids from batch calls, never one user/info each', async (t) => {
  const fake = await startFakeWechat({
    '/cgi-bin/stable_token': () => ({ access_token: 'token-1', expires_in: 7200 }),
    '/cgi-bin/qrcode/create': () => ({ ticket: `T${Math.random()}`, expire_seconds: 300, url: 'http://weixin.qq.com/q/x' }),
    '/cgi-bin/user/info/batchget': (request) => ({
      user_info_list: (request.body as { user_list: { openid: string }[] }).user_list.map(({ openid }) => ({ subscribe: 1, openid, unionid: `u_${openid}` })),
    }),
    '/cgi-bin/user/info': (request) => ({ subscribe: 1, openid: request.query.get('openid'), unionid: 'u_single' }),
  });
  t.teardown(() => fake.close());
  const server = await startServer(t, {
    env: { ...plainScanLogin, WECHAT_APP_ID: 'wxreal', WECHAT_APP_SECRET: 'secret', WECHAT_TOKEN: 'tok', WECHAT_ORIGINAL_ID: 'gh_real', WECHAT_API_BASE: fake.url },
  });
  const count = 12;
  const scenes = await Promise.all(
    Array.from({ length: count }, async () => sceneOf(await (await new BrowserClient(server.url).get('/login')).text())),
  );
  const replies = await Promise.all(
    scenes.map((scene, index) =>
      postCallback(
        server.url,
        signedQuery({ token: 'tok' }),
        eventXml({ openid: `o_parallel_${index}`, event: 'subscribe', eventKey: `qrscene_${scene}`, toUser: 'gh_real' }),
      ),
    ),
  );
  t.true(replies.every((reply) => reply.status === 200 && replyContent(reply.text)?.includes('绑定手机号')));
  const rows = async () => server.knex('users').select('openid', 'unionid');
  await waitUntil(async () => (await rows()).every((row) => row.unionid !== null));
  t.is((await rows()).length, count);
  t.true((await rows()).every((row) => row.unionid === `u_${row.openid}`));
  t.is(fake.count('/cgi-bin/user/info'), 0);
  t.true(fake.count('/cgi-bin/user/info/batchget') < count, `${fake.count('/cgi-bin/user/info/batchget')} batch calls for ${count} newcomers`);
});
