import test from 'ava';
import { answer, confirmPathOf, createPersona, openInWechat, openLoginAs } from '../../helpers/confirm-flow.js';
import { createLoginSceneQueries } from '../../../src/db/login-scenes.js';
import { databaseKinds } from '../../helpers/databases.js';
import { bindPhone, phoneFor, poll } from '../../helpers/login-flow.js';
import { plainScanLogin, startServer, type TestServer } from '../../helpers/server.js';

/**
 * login_scenes is the one record of a scene's state, whatever LOGIN_CONFIRM
 * says (used: a login's row names the scene); users.last_login_time (CONTRACT.md)
 * is written, after the answer, by completed logins only.
 */
const stateOf = async (server: TestServer, scene: string) => (await createLoginSceneQueries(server.knex).findScene(scene))?.state;
async function lastLoginOf(server: TestServer, openid: string) {
  await server.handle.jobs.writeAfterLogins();
  return (await server.knex('users').where({ openid }).first('last_login_time'))?.last_login_time ?? null;
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: a scan denied on the phone is no login: the scanner's last login stays empty`, async (t) => {
    const server = await startServer(t, { database: kind, env: { LOGIN_CONFIRM: 'always' } });
    const openid = await createPersona(server, 'Dora');
    const { browser, scene } = await openLoginAs(server);
    t.is(await stateOf(server, scene), 'issued');
    const reply = await phoneFor(server).scan(openid, scene, 'ticket', false);
    t.is(await stateOf(server, scene), 'awaiting');
    const confirm = await openInWechat(server, openid, confirmPathOf(server, reply.replyText));
    t.regex(await (await answer(confirm.phone, confirm.html, 'deny')).text(), /data-outcome="denied"/);
    t.is(await stateOf(server, scene), 'denied');
    t.is((await poll(browser, scene)).body.status, 'denied');
    // Before, the scan itself wrote the last login time, so the profile showed a login that never happened.
    t.is(await lastLoginOf(server, openid), null);
    t.like(await server.knex('users').where({ openid }).first('tmp_scene_str'), { tmp_scene_str: scene }, 'the scan is still the latest scan');
  });

  declare(`${kind}: LOGIN_CONFIRM=off keeps the same record: issued, approved at the scan, used by the one login it makes`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const { browser, scene } = await openLoginAs(server);
    t.is(await stateOf(server, scene), 'issued');
    await phoneFor(server).scan('o_plain', scene, 'ticket', false);
    t.is(await stateOf(server, scene), 'approved');
    t.is(await lastLoginOf(server, 'o_plain'), null, 'scanned, not yet logged in');
    t.deepEqual((await poll(browser, scene)).body, { status: 'bind', redirect: '/bind' });
    t.is(await stateOf(server, scene), 'approved', 'binding a phone is not a login yet');
    t.is((await bindPhone(server, browser, '13800138011')).status, 303);
    t.is(await stateOf(server, scene), 'used');
    t.truthy(await lastLoginOf(server, 'o_plain'), 'the completed login is the last login');
    const rows = await server.knex('user_sessions').where({ scene });
    t.is(rows.length, 1);
  });

  declare(`${kind}: a used scene logs nobody in again; two polls racing for one approved scene make one login`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const { browser, scene } = await openLoginAs(server);
    await phoneFor(server).scan('o_race', scene, 'ticket', false);
    await poll(browser, scene);
    await bindPhone(server, browser, '13800138012');
    const second = await openLoginAs(server);
    await phoneFor(server).scan('o_race', second.scene, 'ticket', true);
    const answers = await Promise.all([1, 2, 3].map(() => poll(second.browser, second.scene)));
    t.is(answers.filter((one) => one.body.status === 'success').length, 1);
    t.is(answers.filter((one) => one.body.status === 'expired').length, 2);
    t.is(await stateOf(server, second.scene), 'used');
    t.is((await server.knex('user_sessions').where({ scene: second.scene })).length, 1);
  });
}
