import test from 'ava';
import type { Knex } from 'knex';
import { createLoginHistoryQueries } from '../../src/db/login-history.js';
import { createKnex } from '../../src/db/knex.js';
import { isUniqueViolation } from '../../src/db/values.js';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';

const merge = '20261209000001_merge_login_history_into_user_sessions';
const at = new Date('2026-12-01T08:00:00.000Z');
const later = (ms: number) => new Date(at.getTime() + ms);

/** Migrates up to, not including, the merge of login_history into user_sessions. */
async function migrateToBeforeMerge(knex: Knex): Promise<void> {
  for (;;) {
    const [, pending] = (await knex.migrate.list()) as [unknown[], { file: string }[]];
    if (pending[0].file.startsWith(merge)) return;
    await knex.migrate.up();
  }
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: merging login_history into user_sessions keeps every login once, with its scene, and the way back restores both`, async (t) => {
    const database = await createTestDatabase(kind);
    const knex = createKnex(database.url);
    t.teardown(async () => {
      await knex.destroy();
      await database.drop();
    });
    await migrateToBeforeMerge(knex);
    const user = (openid: string) => ({ openid, subscribed: true, session_version: 0, created_at: at, updated_at: at, last_login_time: later(600_000) });
    await knex('users').insert([user('o_alice'), user('o_bob')]);
    const [alice, bob] = (await knex('users').orderBy('id').pluck('id')).map(Number);
    const session = (token: string, method: string, created: Date) => ({
      token_hash: token.padEnd(64, '0'),
      user_id: alice,
      method,
      ip: '203.0.113.1',
      user_agent: `${method} browser`,
      created_at: created,
      last_seen_at: created,
      expires_at: later(86_400_000),
    });
    await knex('user_sessions').insert([session('a', 'qrcode', at), session('b', 'oauth', later(600_000))]);
    const history = (userId: number, method: string, created: Date, scene: string | null) => ({ user_id: userId, method, ip: '203.0.113.2', user_agent: `${method} history`, scene, created_at: created });
    await knex('login_history').insert([
      // The same login as session a (written 5 ms apart in one transaction): it lends the session its scene.
      history(alice, 'qrcode', later(5), 'scene-1'),
      // A mini-program login, which had no browser session.
      history(alice, 'miniprogram', later(60_000), null),
      // A login whose session is gone (the user was merged, say): it stays in the history.
      history(bob, 'qrcode', later(1000), 'scene-3'),
    ]);

    await knex.migrate.latest();
    t.false(await knex.schema.hasTable('login_history'));
    t.false(await knex.schema.hasColumn('users', 'last_login_time'));
    const logins = createLoginHistoryQueries(knex);
    t.deepEqual((await logins.listRecentLogins(alice, 10)).map((login) => login.method), ['oauth', 'miniprogram', 'qrcode']);
    t.deepEqual((await logins.listRecentLogins(bob, 10)).map((login) => login.method), ['qrcode']);
    t.like(await knex('user_sessions').where({ token_hash: 'a'.padEnd(64, '0') }).first(), { scene: 'scene-1', revoked_at: null, end_reason: null });
    const alone = await knex('user_sessions').where({ end_reason: 'no-session' }).orderBy('user_id').select('user_id', 'method', 'scene', 'revoked_at');
    t.is(alone.length, 2);
    t.like(alone[0], { method: 'miniprogram', scene: null });
    t.like(alone[1], { method: 'qrcode', scene: 'scene-3' });
    t.truthy(alone[0].revoked_at, 'a login without a session ended as it began: no list of live sessions shows it');
    // The scene stays used: a second login with it is refused by the unique index.
    const again = knex('user_sessions').insert({ ...session('c', 'qrcode', later(2000)), scene: 'scene-1' });
    t.true(await again.then(() => false, isUniqueViolation));

    await knex.migrate.down();
    t.is(await knex('login_history').count({ n: '*' }).first().then((row) => Number(row!.n)), 4, 'every login of the history, the sessions included');
    t.is(await knex('user_sessions').count({ n: '*' }).first().then((row) => Number(row!.n)), 2);
    t.false(await knex.schema.hasColumn('user_sessions', 'scene'));
    const lastLogin = (await knex('users').where({ id: alice }).first('last_login_time')).last_login_time;
    t.is(new Date(typeof lastLogin === 'number' ? lastLogin : lastLogin).getTime(), later(600_000).getTime());
  });
}
