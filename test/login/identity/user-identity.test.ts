import test from 'ava';
import type { Knex } from 'knex';
import { createApiTokenQueries } from '../../../src/db/api-tokens.js';
import { createKnownDeviceQueries } from '../../../src/db/known-devices.js';
import { createLoginHistoryQueries } from '../../../src/db/login-history.js';
import { createSmsCodeQueries } from '../../../src/db/sms-codes.js';
import { createUserSessionQueries } from '../../../src/db/user-sessions.js';
import { createUserQueries } from '../../../src/db/users.js';
import { databaseKinds, migratedDatabase } from '../../helpers/databases.js';
import { userIdentityOn } from '../../helpers/user-identity.js';

const at = new Date('2026-11-23T08:00:00.000Z');
const later = new Date(at.getTime() + 3_600_000);

async function setup(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql') {
  const knex = await migratedDatabase(t, kind);
  const rows = async () =>
    (await knex('users').select('id', 'openid', 'mini_openid', 'unionid', 'phone', 'subscribed').orderBy('id')).map((row) => ({
      ...row,
      subscribed: Boolean(row.subscribed),
    }));
  return { knex, users: createUserQueries(knex), identity: userIdentityOn(knex, () => at), rows };
}

/** One row of each table a user owns, for `userId`, on the device `device`. */
async function giveEverything(knex: Knex, userId: number, name: string, device: string) {
  await createLoginHistoryQueries(knex).insertLoginWithoutSession({ userId, method: name === 'mini' ? 'miniprogram' : 'oauth', ip: '203.0.113.1', userAgent: name }, at);
  await createUserSessionQueries(knex).insertSession(`session-${name}`, { userId, method: 'oauth', ip: '203.0.113.1', userAgent: name, expiresAt: later }, at);
  await createApiTokenQueries(knex).insertToken(`token-${name}`, userId, later, at);
  await createSmsCodeQueries(knex).insertCode({ userId, phone: '13800138000', purpose: 'bind', codeHash: `code-${name}`, expiresAt: later }, at);
  await createKnownDeviceQueries(knex).rememberDevice(userId, device, at.getTime());
  await createKnownDeviceQueries(knex).rememberDevice(userId, `device-${name}`, at.getTime());
}

/** What each owned table holds for `userId`, named by the markers giveEverything left. */
async function everythingOf(knex: Knex, userId: number) {
  const of = (table: string, column: string) => knex(table).where({ user_id: userId }).orderBy(column).pluck(column);
  return {
    // Both are rows of user_sessions: a login without a session ended as it began.
    logins: await knex('user_sessions').where({ user_id: userId, end_reason: 'no-session' }).orderBy('user_agent').pluck('user_agent'),
    sessions: await knex('user_sessions').where({ user_id: userId }).whereNull('end_reason').orderBy('user_agent').pluck('user_agent'),
    tokens: (await of('api_tokens', 'id')).length,
    codes: await of('sms_codes', 'code_hash'),
    devices: await of('known_devices', 'device_hash'),
  };
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: one person is one user, whichever app came first`, async (t) => {
    const { identity, rows } = await setup(t, kind);
    await identity.recordFollow('o_a', 'u_a');
    const a = await identity.recordMiniProgramUser('m_a', 'u_a');
    const b = await identity.recordMiniProgramUser('m_b', 'u_b');
    await identity.recordFollow('o_b', 'u_b');
    t.like(await identity.recordOauthUser('o_b', { unionid: 'u_b', nickname: 'B', avatarUrl: 'https://example.com/b.png' }), {
      id: b.id,
      nickname: 'B',
    });
    t.deepEqual(await rows(), [
      { id: a.id, openid: 'o_a', mini_openid: 'm_a', unionid: 'u_a', phone: null, subscribed: true },
      { id: b.id, openid: 'o_b', mini_openid: 'm_b', unionid: 'u_b', phone: null, subscribed: true },
    ]);
  });

  declare(`${kind}: a late unionid merges into the Official Account user, though the mini-program user is older; everything both owned is kept`, async (t) => {
    const { knex, users, identity, rows } = await setup(t, kind);
    // The mini-program first (WeChat gives it the unionid): the older row.
    const mini = await identity.recordMiniProgramUser('m_person', 'u_person');
    await users.bindPhoneIfEmpty(mini.id, '13800138000', undefined, at);
    await giveEverything(knex, mini.id, 'mini', 'device-both');
    // Then an in-WeChat login that declined snsapi_userinfo: the Official Account user, without the unionid.
    const official = await identity.recordOauthUser('o_person', {});
    t.true(official.id > mini.id);
    await giveEverything(knex, official.id, 'official', 'device-both');

    // The follow's user/info tells the unionid: the two rows become one.
    await identity.recordFollow('o_person', 'u_person');
    const all = await rows();
    t.deepEqual(all, [{ id: official.id, openid: 'o_person', mini_openid: 'm_person', unionid: 'u_person', phone: '13800138000', subscribed: true }]);
    t.deepEqual(await everythingOf(knex, official.id), {
      logins: ['mini', 'official'],
      sessions: ['mini', 'official'],
      tokens: 2,
      codes: ['code-mini', 'code-official'],
      devices: ['device-both', 'device-mini', 'device-official'],
    });
    // The mini-program's next login is the same user.
    t.is((await identity.recordMiniProgramUser('m_person', 'u_person')).id, official.id);
  });

  declare(`${kind}: two rows with different phones are not merged; the unionid stays with the other row`, async (t) => {
    const { users, identity, rows } = await setup(t, kind);
    const mini = await identity.recordMiniProgramUser('m_two', 'u_two');
    await users.bindPhoneIfEmpty(mini.id, '13800138001', undefined, at);
    const official = await identity.recordOauthUser('o_two', {});
    await users.bindPhoneIfEmpty(official.id, '13800138002', undefined, at);
    await identity.recordFollow('o_two', 'u_two');
    t.deepEqual(
      (await rows()).map((row) => [row.id, row.openid, row.mini_openid, row.unionid, row.phone]),
      [
        [mini.id, null, 'm_two', 'u_two', '13800138001'],
        [official.id, 'o_two', null, null, '13800138002'],
      ],
    );
  });

  declare(`${kind}: parallel first logins of one newcomer each get the one user they created`, async (t) => {
    const { identity, rows } = await setup(t, kind);
    // A mini-program that calls wx.login twice at launch; a double-submitted OAuth callback.
    const minis = await Promise.all(Array.from({ length: 4 }, () => identity.recordMiniProgramUser('m_new', 'u_new')));
    const officials = await Promise.all(Array.from({ length: 4 }, () => identity.recordOauthUser('o_new', {})));
    const all = await rows();
    t.deepEqual(
      all.map((row) => [row.openid, row.mini_openid]),
      [
        [null, 'm_new'],
        ['o_new', null],
      ],
    );
    t.deepEqual(
      minis.map((user) => user?.id),
      minis.map(() => all[0].id),
    );
    t.deepEqual(
      officials.map((user) => user?.id),
      officials.map(() => all[1].id),
    );
  });

  // With plain SELECTs, each MySQL transaction missed the unionid the other was setting, both rows kept it,
  // and learnUnionid never ran for them again. The locking reads make the two deadlock, and the retry merges.
  declare(`${kind}: parallel first unionids of one person's two rows leave one user`, async (t) => {
    const { identity, rows } = await setup(t, kind);
    // Both apps know the person without the unionid; then both learn it at once.
    for (let round = 0; round < 10; round += 1) {
      await identity.recordOauthUser(`o_both${round}`, {});
      await identity.recordMiniProgramUser(`m_both${round}`, undefined);
    }
    await Promise.all(
      Array.from({ length: 10 }, (_, round) => [
        identity.recordFollow(`o_both${round}`, `u_both${round}`),
        identity.recordMiniProgramUser(`m_both${round}`, `u_both${round}`),
      ]).flat(),
    );
    t.deepEqual(
      (await rows()).map((row) => [row.openid, row.mini_openid, row.unionid]),
      Array.from({ length: 10 }, (_, round) => [`o_both${round}`, `m_both${round}`, `u_both${round}`]),
    );
  });

  declare(`${kind}: parallel first unionids of two rows with different phones: no merge, and only the older row keeps the unionid`, async (t) => {
    const { identity, rows, knex } = await setup(t, kind);
    for (let round = 0; round < 5; round += 1) {
      const official = await identity.recordOauthUser(`o_phone${round}`, {});
      const mini = await identity.recordMiniProgramUser(`m_phone${round}`, undefined);
      await knex('users').where({ id: official.id }).update({ phone: `1380000000${round}` });
      await knex('users').where({ id: mini.id }).update({ phone: `1390000000${round}` });
    }
    await Promise.all(
      Array.from({ length: 5 }, (_, round) => [
        identity.recordFollow(`o_phone${round}`, `u_phone${round}`),
        identity.recordMiniProgramUser(`m_phone${round}`, `u_phone${round}`),
      ]).flat(),
    );
    t.deepEqual(
      (await rows()).map((row) => [row.openid, row.mini_openid, row.unionid]),
      Array.from({ length: 5 }, (_, round) => [
        [`o_phone${round}`, null, `u_phone${round}`],
        [null, `m_phone${round}`, null],
      ]).flat(),
    );
  });

  declare(`${kind}: parallel follows of someone the mini-program knows join that user, once`, async (t) => {
    const { identity, rows } = await setup(t, kind);
    const mini = await identity.recordMiniProgramUser('m_race', 'u_race');
    await Promise.all(Array.from({ length: 3 }, () => identity.recordFollow('o_race', 'u_race')));
    t.deepEqual(
      (await rows()).map((row) => [row.id, row.openid, row.mini_openid]),
      [[mini.id, 'o_race', 'm_race']],
    );
  });
}

