import test from 'ava';
import type { Knex } from 'knex';
import { createLoginHistoryQueries } from '../../src/db/login-history.js';
import { createKnex } from '../../src/db/knex.js';
import { isUniqueViolation } from '../../src/db/values.js';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';

const merge = '20261209000001_merge_login_history_into_user_sessions';
const at = new Date('2026-12-01T08:00:00.000Z');
const later = (ms: number) => new Date(at.getTime() + ms);
const count = async (query: Knex.QueryBuilder) => Number((await query.count({ n: '*' }).first())!.n);

/** Migrates up to, not including, the merge of login_history into user_sessions. */
async function migrateToBeforeMerge(knex: Knex): Promise<void> {
  for (;;) {
    const [, pending] = (await knex.migrate.list()) as [unknown[], { file: string }[]];
    if (pending[0].file.startsWith(merge)) return;
    await knex.migrate.up();
  }
}

/**
 * A database as the previous version left it: two users, their sessions and their login history, written
 * as that version wrote them (a session and its history row in one transaction, a few ms apart).
 */
async function previousVersionDatabase(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql') {
  const database = await createTestDatabase(kind);
  const knex = createKnex(database.url);
  t.teardown(async () => {
    await knex.destroy();
    await database.drop();
  });
  await migrateToBeforeMerge(knex);
  const user = (openid: string) => ({ openid, subscribed: true, session_version: 0, created_at: at, updated_at: at, last_login_time: later(600_000) });
  await knex('users').insert([user('o_alice'), user('o_bob'), user('o_carol')]);
  const [alice, bob, carol] = (await knex('users').orderBy('id').pluck('id')).map(Number);
  const session = (token: string, userId: number, method: string, created: Date) => ({
    token_hash: token.padEnd(64, '0'),
    user_id: userId,
    method,
    ip: '203.0.113.1',
    user_agent: `${method} browser`,
    created_at: created,
    last_seen_at: created,
    expires_at: later(86_400_000),
  });
  const history = (userId: number, method: string, created: Date, scene: string | null) => ({ user_id: userId, method, ip: '203.0.113.2', user_agent: `${method} history`, scene, created_at: created });
  // Carol's three QR logins 1.9 s apart, whose sessions got their ids out of time order (a transaction that waited on a lock).
  await knex('user_sessions').insert([session('c3', carol, 'qrcode', later(3800)), session('c1', carol, 'qrcode', later(0)), session('c2', carol, 'qrcode', later(1900))]);
  await knex('user_sessions').insert([session('a', alice, 'qrcode', at), session('b', alice, 'oauth', later(600_000))]);
  await knex('login_history').insert([
    history(carol, 'qrcode', later(4), 's-c1'),
    history(carol, 'qrcode', later(1904), 's-c2'),
    history(carol, 'qrcode', later(3804), 's-c3'),
    // The same login as session a: it lends the session its scene.
    history(alice, 'qrcode', later(5), 'scene-1'),
    history(alice, 'oauth', later(600_004), null),
    // A mini-program login, which had no browser session.
    history(alice, 'miniprogram', later(60_000), null),
    // A login whose session is gone (the user was merged, say): it stays in the history.
    history(bob, 'qrcode', later(1000), 'scene-3'),
  ]);
  return { knex, alice, bob, carol };
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: merging login_history into user_sessions keeps every login once, each scene on its own session`, async (t) => {
    const { knex, alice, bob, carol } = await previousVersionDatabase(t, kind);
    await knex.migrate.latest();
    // Left for instances of the previous version during a rolling upgrade, and for CONTRACT.md's users.last_login_time.
    t.true(await knex.schema.hasTable('login_history'));
    t.true(await knex.schema.hasColumn('users', 'last_login_time'));
    const logins = createLoginHistoryQueries(knex);
    t.deepEqual((await logins.listRecentLogins(alice, 10)).map((login) => login.method), ['oauth', 'miniprogram', 'qrcode']);
    t.deepEqual((await logins.listRecentLogins(bob, 10)).map((login) => login.method), ['qrcode']);
    const scenesOf = async (userId: number) => knex('user_sessions').where({ user_id: userId }).orderBy('created_at').pluck('scene');
    t.deepEqual(await scenesOf(carol), ['s-c1', 's-c2', 's-c3'], 'each scene on the session of its own login, however the ids run');
    t.like(await knex('user_sessions').where({ token_hash: 'a'.padEnd(64, '0') }).first(), { scene: 'scene-1', revoked_at: null, end_reason: null });
    const alone = await knex('user_sessions').where({ end_reason: 'no-session' }).orderBy('user_id').select('user_id', 'method', 'scene', 'revoked_at');
    t.is(alone.length, 2);
    t.like(alone[0], { method: 'miniprogram', scene: null });
    t.like(alone[1], { method: 'qrcode', scene: 'scene-3' });
    t.truthy(alone[0].revoked_at, 'a login without a session ended as it began: no list of live sessions shows it');
    // The scene stays used: a second login with it is refused by the unique index.
    const again = knex('user_sessions').insert({ token_hash: 'x'.padEnd(64, '0'), user_id: alice, method: 'qrcode', ip: '', user_agent: '', created_at: at, last_seen_at: at, expires_at: at, scene: 'scene-1' });
    t.true(await again.then(() => false, isUniqueViolation));
  });

  declare(`${kind}: the merge run again after a failure starts over; the way back restores login_history and keeps the OpenID grants`, async (t) => {
    const { knex, alice } = await previousVersionDatabase(t, kind);
    await knex.migrate.up();
    const merged = await knex('user_sessions').orderBy('id').select('id', 'scene', 'end_reason');
    // As if it had stopped part-way (MySQL commits each schema change at once): not recorded as run, the copy half done.
    await knex('knex_migrations').where('name', 'like', `${merge}%`).delete();
    await knex('user_sessions').where({ end_reason: 'no-session', method: 'miniprogram' }).delete();
    await knex('user_sessions').where({ scene: 's-c2' }).update({ scene: null });
    await knex.migrate.up();
    t.deepEqual(
      (await knex('user_sessions').orderBy('id').select('id', 'scene', 'end_reason')).map(({ scene, end_reason }) => ({ scene, end_reason })),
      merged.map(({ scene, end_reason }) => ({ scene, end_reason })),
    );

    // A login after the upgrade, with an OpenID grant on its session.
    const [session] = await knex('user_sessions').insert({ token_hash: 'new'.padEnd(64, '0'), user_id: alice, method: 'qrcode', ip: '198.51.100.9', user_agent: 'after', scene: 'scene-new', created_at: later(900_000), last_seen_at: later(900_000), expires_at: later(999_000_000) });
    await knex('login_scenes').insert({ scene: 'scene-new', device_hash: '0'.repeat(64), user_agent: '', ip: '', created_at_ms: 0, expires_at_ms: 1, state: 'approved' });
    await knex('oidc_grant_sessions').insert({ grant_id: 'grant-1', user_session_id: Number(session), client_id: 'app', account_id: String(alice), logout_sid: 'sid' });
    await knex.migrate.down();
    t.false(await knex.schema.hasColumn('user_sessions', 'scene'));
    t.is(await count(knex('login_history')), 8, 'the seven logins it held, and the one since');
    t.like(await knex('login_history').where({ scene: 'scene-new' }).first(), { user_agent: 'after' });
    t.is((await knex('login_scenes').where({ scene: 'scene-new' }).first()).state, 'used', 'as the previous version marks a used scene');
    t.is(await count(knex('user_sessions').where({ end_reason: 'no-session' })), 0);
    t.is(await count(knex('oidc_grant_sessions')), 1, 'the grant of the session is still there');
  });
}
