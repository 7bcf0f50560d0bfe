import test from 'ava';
import { createUserSessionQueries } from '../../src/db/user-sessions.js';
import { createLoginHistoryQueries } from '../../src/db/login-history.js';
import { createSmsCodeQueries } from '../../src/db/sms-codes.js';
import { createUserQueries, PhoneTakenError } from '../../src/db/users.js';
import { databaseKinds, migratedDatabase } from '../helpers/databases.js';

async function setup(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql') {
  const knex = await migratedDatabase(t, kind);
  return { knex, users: createUserQueries(knex), logins: createLoginHistoryQueries(knex), sessions: createUserSessionQueries(knex), codes: createSmsCodeQueries(knex) };
}

const now = new Date('2026-11-21T08:00:00.123Z');

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: a phone binds once, only to a user without one; another user gets PhoneTakenError`, async (t) => {
    const { users } = await setup(t, kind);
    await users.insertScanningUser('o_a', 's-a', now);
    await users.insertScanningUser('o_b', 's-b', now);
    const a = (await users.findUserByOpenid('o_a'))!;
    const b = (await users.findUserByOpenid('o_b'))!;
    t.true(await users.bindPhoneIfEmpty(a.id, '13800138000', 0, now));
    t.true(await users.bindPhoneIfEmpty(a.id, '13800138000', 0, now), 'the same phone again is idempotent');
    t.false(await users.bindPhoneIfEmpty(a.id, '13800138001', 0, now), 'a user with a phone keeps it');
    await t.throwsAsync(users.bindPhoneIfEmpty(b.id, '13800138000', 0, now), { instanceOf: PhoneTakenError });
    t.false(await users.bindPhoneIfEmpty(b.id, '13800138002', 7, now), 'a stale session version binds nothing');
    t.is((await users.findUserById(b.id))!.phone, null);
    t.is((await users.findUserByPhone('13800138000'))!.id, a.id);
  });

  declare(`${kind}: unfollowing unbinds the phone and raises the session version`, async (t) => {
    const { users } = await setup(t, kind);
    await users.insertScanningUser('o_u', 's-u', now);
    const user = (await users.findUserByOpenid('o_u'))!;
    await users.bindPhoneIfEmpty(user.id, '13900139000', undefined, now);
    await users.recordUnfollow(user.id, now);
    t.like(await users.findUserById(user.id), { phone: null, subscribed: false, sessionVersion: 1 });
  });

  declare(`${kind}: a scene logs in once, however many racers insert it`, async (t) => {
    const { users, logins, sessions } = await setup(t, kind);
    await users.insertScanningUser('o_l', 's-l', now);
    const user = (await users.findUserByOpenid('o_l'))!;
    const meta = { userId: user.id, method: 'qrcode' as const, ip: '127.0.0.1', userAgent: 'ua', scene: 's-l', expiresAt: new Date(now.getTime() + 3_600_000) };
    const inserted = await Promise.all(['a', 'b', 'c'].map((token) => sessions.insertSession(token, meta, now)));
    t.deepEqual(inserted.filter((id) => id !== undefined).length, 1);
    const history = await logins.listRecentLogins(user.id, 10);
    t.is(history.length, 1);
    t.like(history[0], { method: 'qrcode', ip: '127.0.0.1', userAgent: 'ua' });
    t.is(history[0].at.toISOString(), now.toISOString());
  });

  declare(`${kind}: SMS codes: latest first per user, counted per phone, attempts claimed up to the cap, consumed once`, async (t) => {
    const { codes, users } = await setup(t, kind);
    await users.insertScanningUser('o_s', 's-s', now);
    await users.insertScanningUser('o_t', 's-t', now);
    const s = (await users.findUserByOpenid('o_s'))!.id;
    const other = (await users.findUserByOpenid('o_t'))!.id;
    const code = (userId: number, codeHash: string, at: Date) =>
      codes.insertCode({ userId, phone: '13800138000', purpose: 'bind', codeHash, expiresAt: new Date(at.getTime() + 300_000) }, at);
    await code(s, 'h1', now);
    await code(s, 'h2', new Date(now.getTime() + 1000));
    await code(other, 'h3', new Date(now.getTime() + 2000));
    const latest = (await codes.findLatestCode(s, '13800138000', 'bind'))!;
    t.is(latest.codeHash, 'h2', "another user's newer code is not this user's");
    t.is(await codes.countCodesForPhoneSince('13800138000', 'bind', new Date(now.getTime() - 1000)), 3);
    const claims = await Promise.all(Array.from({ length: 8 }, () => codes.claimAttempt(latest.id, 5, now)));
    t.is(claims.filter(Boolean).length, 5);
    t.is((await codes.findLatestCode(s, '13800138000', 'bind'))!.attempts, 5);
    const consumed = await Promise.all([codes.consumeCode(latest.id, now), codes.consumeCode(latest.id, now)]);
    t.deepEqual(consumed.filter(Boolean).length, 1);
    t.false(await codes.claimAttempt(latest.id, 100, now), 'a used code takes no more attempts');
  });

  declare(`${kind}: the resend slot is claimed by one of many parallel senders`, async (t) => {
    const { codes } = await setup(t, kind);
    const until = new Date(now.getTime() + 60_000);
    const claims = await Promise.all(Array.from({ length: 10 }, () => codes.claimSendSlot('13800138000', 'bind', now, until)));
    t.is(claims.filter(Boolean).length, 1);
    t.false(await codes.claimSendSlot('13800138000', 'bind', new Date(now.getTime() + 59_000), until));
    const later = new Date(now.getTime() + 60_000);
    const renewals = await Promise.all(Array.from({ length: 10 }, () => codes.claimSendSlot('13800138000', 'bind', later, new Date(later.getTime() + 60_000))));
    t.is(renewals.filter(Boolean).length, 1);
  });
}

(process.env.TEST_MYSQL === '1' ? test.serial : test.serial.skip)('mysql: tables are utf8mb4', async (t) => {
  const { knex } = await setup(t, 'mysql');
  const [rows] = await knex.raw("select table_name as name, table_collation as collation from information_schema.tables where table_schema = database() and table_name in ('users','user_sessions','sms_codes')");
  t.is(rows.length, 3);
  for (const row of rows) t.regex(row.collation, /^utf8mb4/);
  await knex('users').insert({ openid: 'o_emoji', created_at: now, updated_at: now, unionid: '😀' });
  t.is((await knex('users').where({ openid: 'o_emoji' }).first()).unionid, '😀');
});

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: updateScan is one UPDATE of a known openid; an unknown openid gives undefined`, async (t) => {
    const { users } = await setup(t, kind);
    t.is(await users.updateScan('o_unknown', 'scene-u', now), undefined);
    await users.insertScanningUser('o_back', 'scene-1', now);
    t.deepEqual(await users.updateScan('o_back', 'scene-2', now), { outcome: 'recorded', hasPhone: false });
    const user = (await users.findUserByOpenid('o_back'))!;
    await users.bindPhoneIfEmpty(user.id, '13600000000', undefined, now);
    t.deepEqual(await users.updateScan('o_back', 'scene-3', now), { outcome: 'recorded', hasPhone: true });
    await users.insertScanningUser('o_other', 'scene-4', now);
    t.deepEqual(await users.updateScan('o_back', 'scene-4', now), { outcome: 'scene_taken' });
    t.is((await users.findUserByOpenid('o_back'))!.tmpSceneStr, 'scene-3');
  });

  declare(`${kind}: insertScanningUser is one INSERT; a known openid or a held scene is a duplicate that changes nothing`, async (t) => {
    const { knex, users } = await setup(t, kind);
    t.is(await users.insertScanningUser('o_new', 'scene-n', now), 'inserted');
    t.like(await users.findUserByOpenid('o_new'), { tmpSceneStr: 'scene-n', subscribed: true, phone: null, unionid: null, sessionVersion: 0 });
    t.is(await users.insertScanningUser('o_new', 'scene-m', now), 'duplicate', 'the openid exists');
    t.is(await users.insertScanningUser('o_thief', 'scene-n', now), 'duplicate', 'another user holds the scene');
    t.is((await users.findUserByOpenid('o_new'))!.tmpSceneStr, 'scene-n');
    t.is(await users.findUserByOpenid('o_thief'), undefined);
    t.is(Number((await knex('users').count({ n: '*' }).first())!.n), 1);
    // Parallel inserts of one openid: exactly one row, the other told duplicate.
    const raced = await Promise.all([users.insertScanningUser('o_race2', 'scene-r1', now), users.insertScanningUser('o_race2', 'scene-r2', now)]);
    t.deepEqual([...raced].sort(), ['duplicate', 'inserted']);
    t.is(Number((await knex('users').where({ openid: 'o_race2' }).count({ n: '*' }).first())!.n), 1);
    await t.throwsAsync(users.insertScanningUser('o'.repeat(65), 'scene-long', now), { name: 'ValueTooLongError' });
  });

  declare(`${kind}: insertAppUser is one INSERT per app's openid; the unionid lookups tell the apps apart`, async (t) => {
    const { users } = await setup(t, kind);
    t.is(await users.insertAppUser('mini_openid', 'm_1', 'u_1', now), 'inserted');
    t.is(await users.insertAppUser('mini_openid', 'm_1', undefined, now), 'duplicate');
    const mini = (await users.findUserByAppOpenid('mini_openid', 'm_1'))!;
    t.like(mini, { openid: null, unionid: 'u_1', subscribed: false, sessionVersion: 0 });
    t.is((await users.findUserByUnionidWithout('openid', 'u_1'))!.id, mini.id);
    t.is(await users.findUserByUnionidWithout('mini_openid', 'u_1'), undefined);
    t.is(await users.findOtherUserByUnionid('u_1', mini.id), undefined);
    t.is(await users.insertAppUser('openid', 'o_1', undefined, now), 'inserted');
    const official = (await users.findUserByAppOpenid('openid', 'o_1'))!;
    await users.setUnionid(official.id, 'u_1', now);
    t.is((await users.findOtherUserByUnionid('u_1', mini.id))!.id, official.id);
    await t.throwsAsync(users.insertAppUser('openid', 'o'.repeat(65), undefined, now), { name: 'ValueTooLongError' });
    await t.throwsAsync(users.setAppOpenid(mini.id, 'openid', 'o'.repeat(65), now), { name: 'ValueTooLongError' });
  });

  declare(`${kind}: setUnionidsIfMissing fills empty unionids and never replaces one`, async (t) => {
    const { users } = await setup(t, kind);
    await users.insertScanningUser('o_u1', 'scene-u1', now);
    await users.insertScanningUser('o_u2', 'scene-u2', now);
    t.is(await users.setUnionidsIfMissing(new Map([['o_u1', 'u_first']]), now), 1);
    t.is(await users.setUnionidsIfMissing(new Map([['o_u1', 'u_second'], ['o_u2', 'u_two'], ['o_nobody', 'u_x']]), now), 1);
    t.is((await users.findUserByOpenid('o_u1'))!.unionid, 'u_first');
    t.is((await users.findUserByOpenid('o_u2'))!.unionid, 'u_two');
  });
}
