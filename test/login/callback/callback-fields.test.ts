import test from 'ava';
import { createKnex, assertStrictSqlMode, StrictModeError } from '../../../src/db/knex.js';
import { ValueTooLongError } from '../../../src/db/users.js';
import { recordedScene } from '../../helpers/recorded-scene.js';
import { createTestDatabase, databaseKinds, migratedDatabase } from '../../helpers/databases.js';
import { plainScanLogin, startServer } from '../../helpers/server.js';
import { userIdentityOn } from '../../helpers/user-identity.js';
import { eventXml, postCallback, signedQuery } from '../../helpers/wechat-push.js';

/**
 * Issue 11, attack 3: a 65 to 128 character FromUserName passed the parser
 * but not the 64-character column; on MariaDB `INSERT … IGNORE` cut it
 * silently and the next statement threw (a 500). Every field is now bounded
 * by its column and refused with 400 beyond, before the database sees it.
 */
for (const { kind, enabled } of databaseKinds) {
  const dbTest = enabled ? test : test.skip;

  dbTest(`${kind}: a FromUserName longer than the openid column gets 400, stores nothing and logs no error`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const scene = await recordedScene(server);
    for (const length of [65, 100, 128]) {
      const openid = 'o'.repeat(length);
      const scan = await postCallback(server.url, signedQuery(), eventXml({ openid, event: 'subscribe', eventKey: `qrscene_${scene}` }));
      t.is(scan.status, 400, `scan with a ${length}-character openid`);
      t.is(scan.text, 'malformed_xml');
      t.is((await postCallback(server.url, signedQuery(), eventXml({ openid, event: 'subscribe' }))).status, 400);
    }
    // A 64-character openid fits and works.
    t.is((await postCallback(server.url, signedQuery(), eventXml({ openid: 'o'.repeat(64), event: 'subscribe' }))).status, 200);
    t.deepEqual((await server.knex('users').select('openid')).map((row) => row.openid), ['o'.repeat(64)]);
    t.deepEqual(server.logs.filter((log) => log.level === 'error'), []);
  });

  dbTest(`${kind}: a scene, ToUserName or EventKey longer than allowed gets 400`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const long = [
      eventXml({ openid: 'o_a', event: 'SCAN', eventKey: 'S'.repeat(65) }),
      eventXml({ openid: 'o_a', event: 'subscribe', eventKey: `qrscene_${'S'.repeat(65)}` }),
      eventXml({ openid: 'o_a', event: 'subscribe', toUser: `gh_${'x'.repeat(62)}` }),
      eventXml({ openid: 'o_a', event: 'CLICK', eventKey: 'K'.repeat(129) }),
    ];
    for (const body of long) t.is((await postCallback(server.url, signedQuery(), body)).status, 400);
    t.is(Number((await server.knex('users').count({ n: '*' }).first())!.n), 0);
  });

  dbTest(`${kind}: follows and logins refuse an openid or unionid longer than its column instead of cutting it`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const identity = userIdentityOn(knex);
    await t.throwsAsync(identity.recordFollow('o'.repeat(65)), { instanceOf: ValueTooLongError });
    await t.throwsAsync(identity.recordMiniProgramUser('m'.repeat(65), undefined), { instanceOf: ValueTooLongError });
    await t.throwsAsync(identity.recordFollow('o_ok', 'u'.repeat(65)), { instanceOf: ValueTooLongError });
    await t.throwsAsync(identity.recordOauthUser('o'.repeat(65), {}), { instanceOf: ValueTooLongError });
    t.is(Number((await knex('users').count({ n: '*' }).first())!.n), 0);
    // Concurrent first follows of one openid still make one user (the unique index, not INSERT IGNORE).
    await Promise.all([identity.recordFollow('o_same'), identity.recordFollow('o_same'), identity.recordFollow('o_same')]);
    t.is(Number((await knex('users').where({ openid: 'o_same' }).count({ n: '*' }).first())!.n), 1);
    // A unionid learned late, or an openid joining the user known by unionid: refused the same way, nothing written.
    await t.throwsAsync(identity.recordFollow('o_same', 'u'.repeat(65)), { instanceOf: ValueTooLongError });
    await identity.recordMiniProgramUser('m_known', 'u_known');
    await t.throwsAsync(identity.recordFollow('o'.repeat(65), 'u_known'), { instanceOf: ValueTooLongError });
    t.deepEqual(
      (await knex('users').select('openid', 'mini_openid', 'unionid').orderBy('id')).map((row) => [row.openid, row.mini_openid, row.unionid]),
      [
        ['o_same', null, null],
        [null, 'm_known', 'u_known'],
      ],
    );
  });
}

(databaseKinds[1].enabled ? test : test.skip)('mysql: a session without strict mode is refused with a clear message', async (t) => {
  const database = await createTestDatabase('mysql');
  const knex = createKnex(database.url);
  t.teardown(async () => {
    await knex.destroy();
    await database.drop();
  });
  await t.notThrowsAsync(assertStrictSqlMode(knex), 'MariaDB is strict by default');
  // One connection, made lax after the pool's own check, as a server configured without strict mode would be.
  await knex.transaction(async (trx) => {
    await trx.raw("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'");
    const error = await t.throwsAsync(assertStrictSqlMode(trx as never), { instanceOf: StrictModeError });
    t.regex(error!.message, /strict mode is off.*STRICT_TRANS_TABLES/);
    await trx.raw("SET SESSION sql_mode = DEFAULT");
  });
});
