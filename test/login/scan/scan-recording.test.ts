import test from 'ava';
import type { Knex } from 'knex';
import { createKnex } from '../../../src/db/knex.js';
import { createUserQueries } from '../../../src/db/users.js';
import { createScanRecording } from '../../../src/login/scan/scan-recording.js';
import { createTestDatabase, databaseKinds } from '../../helpers/databases.js';

const at = new Date('2026-11-22T08:00:00.000Z');

/**
 * The scan rule on a real database. `unionids` stands in for WeChat's
 * user/info (a function passed in, as the composition passes the API call);
 * `statements` counts what reached the database during `counted`.
 */
async function setup(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql', linkBeforeRecording: boolean) {
  const database = await createTestDatabase(kind);
  const knex: Knex = createKnex(database.url);
  await knex.migrate.latest();
  t.teardown(async () => {
    await knex.destroy();
    await database.drop();
  });
  const users = createUserQueries(knex);
  const unionids = new Map<string, string>();
  let userInfoCalls = 0;
  let userInfoFails = false;
  const scans = createScanRecording({
    users,
    unionidOf: async (openid) => {
      userInfoCalls += 1;
      return userInfoFails ? undefined : unionids.get(openid);
    },
    linkBeforeRecording,
    now: () => at,
  });
  let statements = 0;
  knex.on('query', () => (statements += 1));
  const counted = async <T>(work: () => Promise<T>) => {
    const before = statements;
    const result = await work();
    return { result, statements: statements - before };
  };
  const rows = () => knex('users').select().orderBy('id');
  return {
    knex,
    users,
    scans,
    unionids,
    counted,
    rows,
    userInfoCalls: () => userInfoCalls,
    failUserInfo: (fails: boolean) => (userInfoFails = fails),
  };
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: without a mini-program, a newcomer's subscribe scan is one INSERT, with no unionid yet (unionid-backfill.ts asks later)`, async (t) => {
    const { scans, unionids, counted, rows, userInfoCalls } = await setup(t, kind, false);
    unionids.set('o_new', 'u_new');
    const { result, statements } = await counted(() => scans.record('o_new', 'scene-1', 'subscribe'));
    t.deepEqual(result, { outcome: 'recorded', hasPhone: false, created: true });
    t.is(statements, 1);
    t.is(userInfoCalls(), 0, 'WeChat is not asked before the browser is woken');
    t.like((await rows())[0], { openid: 'o_new', unionid: null, tmp_scene_str: 'scene-1', phone: null });
    t.is((await rows()).length, 1);
  });

  declare(`${kind}: a returning user's SCAN is one UPDATE and asks WeChat nothing`, async (t) => {
    const { knex, scans, counted, userInfoCalls } = await setup(t, kind, true);
    await knex('users').insert({ openid: 'o_back', phone: '13700000000', subscribed: true, session_version: 0, created_at: at, updated_at: at });
    const { result, statements } = await counted(() => scans.record('o_back', 'scene-2', 'SCAN'));
    t.deepEqual(result, { outcome: 'recorded', hasPhone: true });
    t.is(statements, 1);
    t.is(userInfoCalls(), 0);
  });

  declare(`${kind}: a follower unknown here (SCAN) and a known user following again (subscribe) both end as one user`, async (t) => {
    const { knex, scans, rows } = await setup(t, kind, false);
    t.deepEqual(await scans.record('o_old_follower', 'scene-a', 'SCAN'), { outcome: 'recorded', hasPhone: false, created: true });
    await knex('users').insert({ openid: 'o_again', phone: '13700000001', subscribed: false, session_version: 0, created_at: at, updated_at: at });
    t.deepEqual(await scans.record('o_again', 'scene-b', 'subscribe'), { outcome: 'recorded', hasPhone: true });
    t.deepEqual(
      (await rows()).map((row) => [row.openid, row.tmp_scene_str, Boolean(row.subscribed)]),
      [
        ['o_old_follower', 'scene-a', true],
        ['o_again', 'scene-b', true],
      ],
    );
  });

  for (const linkBeforeRecording of [false, true]) {
    const mode = linkBeforeRecording ? 'with a mini-program' : 'without a mini-program';

    declare(`${kind}: ${mode}, a first scan creates the user with the scene and the follow state; no login yet, so no last login`, async (t) => {
      const { knex, users, scans } = await setup(t, kind, linkBeforeRecording);
      t.like(await scans.record('o_first', 'scene-1', 'subscribe'), { outcome: 'recorded', hasPhone: false });
      const user = (await users.findUsersByOpenids(['o_first', 'o_none'])).get('o_first');
      t.like(user, { openid: 'o_first', tmpSceneStr: 'scene-1', subscribed: true, phone: null, sessionVersion: 0 });
      t.is((await knex('user_sessions').where({ user_id: user!.id })).length, 0, 'the last login is the newest login row: none');
    });

    declare(`${kind}: ${mode}, a scene held by another user is refused, whatever the event`, async (t) => {
      const { scans, rows } = await setup(t, kind, linkBeforeRecording);
      await scans.record('o_holder', 'scene-h', 'subscribe');
      t.deepEqual(await scans.record('o_thief', 'scene-h', 'subscribe'), { outcome: 'scene_taken' });
      t.deepEqual(await scans.record('o_thief', 'scene-h', 'SCAN'), { outcome: 'scene_taken' });
      t.deepEqual((await rows()).map((row) => [row.openid, row.tmp_scene_str]), [['o_holder', 'scene-h']]);
      // The holder scanning it again is recorded again.
      t.like(await scans.record('o_holder', 'scene-h', 'SCAN'), { outcome: 'recorded' });
    });

    declare(`${kind}: ${mode}, parallel deliveries of one newcomer's scan make one user`, async (t) => {
      const { scans, unionids, rows } = await setup(t, kind, linkBeforeRecording);
      unionids.set('o_racer', 'u_racer');
      const results = await Promise.all(Array.from({ length: 4 }, () => scans.record('o_racer', 'scene-r', 'subscribe')));
      t.true(results.every((result) => result.outcome === 'recorded'));
            const all = await rows();
      t.is(all.length, 1);
      t.like(all[0], { openid: 'o_racer', tmp_scene_str: 'scene-r' });
    });

    declare(`${kind}: ${mode}, one newcomer scanning two codes at once is one user, both scans recorded`, async (t) => {
      const { scans, rows } = await setup(t, kind, linkBeforeRecording);
      const results = await Promise.all([scans.record('o_two', 'scene-a', 'subscribe'), scans.record('o_two', 'scene-b', 'subscribe')]);
      t.deepEqual(results.map((result) => result.outcome), ['recorded', 'recorded']);
            const all = await rows();
      t.is(all.length, 1);
      t.true(['scene-a', 'scene-b'].includes(all[0].tmp_scene_str));
    });
  }

  declare(`${kind}: with a mini-program, the person known there (with a phone) is that user, logged in at once`, async (t) => {
    const { users, scans, unionids, rows, counted } = await setup(t, kind, true);
    await users.insertAppUser('mini_openid', 'm_person', 'u_person', at);
    const mini = (await users.findUserByAppOpenid('mini_openid', 'm_person'))!;
    await users.bindPhoneIfEmpty(mini.id, '13700000002', undefined, at);
    unionids.set('o_person', 'u_person');
    const { result, statements } = await counted(() => scans.record('o_person', 'scene-p', 'subscribe'));
    t.deepEqual(result, { outcome: 'recorded', hasPhone: true });
    t.is(statements, 2, 'one SELECT of the mini-program user, one guarded UPDATE');
    const all = await rows();
    t.is(all.length, 1);
    t.like(all[0], { openid: 'o_person', mini_openid: 'm_person', unionid: 'u_person', tmp_scene_str: 'scene-p' });
  });

  declare(`${kind}: with a mini-program, someone new there too is one SELECT and one INSERT, with the unionid`, async (t) => {
    const { scans, unionids, rows, counted } = await setup(t, kind, true);
    unionids.set('o_fresh', 'u_fresh');
    const { result, statements } = await counted(() => scans.record('o_fresh', 'scene-f', 'subscribe'));
    t.deepEqual(result, { outcome: 'recorded', hasPhone: false });
    t.is(statements, 2);
    t.like((await rows())[0], { openid: 'o_fresh', unionid: 'u_fresh' });
  });

  declare(`${kind}: with a mini-program, a failed user/info still records the scan, without a unionid, with one call`, async (t) => {
    const { scans, unionids, rows, failUserInfo, userInfoCalls } = await setup(t, kind, true);
    unionids.set('o_late', 'u_late');
    failUserInfo(true);
    t.deepEqual(await scans.record('o_late', 'scene-l', 'subscribe'), { outcome: 'recorded', hasPhone: false });
        t.is(userInfoCalls(), 1);
    t.like((await rows())[0], { openid: 'o_late', unionid: null, tmp_scene_str: 'scene-l' });
  });
}
