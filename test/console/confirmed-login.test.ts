import test from 'ava';
import { createLoginSceneQueries } from '../../src/db/login-scenes.js';
import { createSceneStates } from '../../src/login/scan/scene-states.js';
import { databaseKinds, migratedDatabase } from '../helpers/databases.js';

/**
 * What counts as a login confirmed on the phone (the operator console needs
 * one): the right number picked, or the page's code typed into WeChat. A tap
 * with no number to match (a mini-program code when no number was asked) is
 * not one: an outside review reached /admin with a stolen cookie and one tap.
 */
for (const { kind, enabled } of databaseKinds) {
  (enabled ? test : test.skip)(`${kind}: a number picked or a code sent is a confirmed login; a tap without a number, or a scan approved at once, is not`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const now = Date.now();
    const [userId] = await knex('users').insert({ openid: 'o_admin', phone: '13800138401', subscribed: true, session_version: 0, created_at: new Date(now), updated_at: new Date(now) });
    const scene = (name: string, fields: Record<string, unknown>) => ({
      scene: name,
      device_hash: '0'.repeat(64),
      user_agent: 'test',
      ip: '127.0.0.1',
      created_at_ms: now,
      expires_at_ms: now + 60_000,
      state: 'approved',
      decided_at_ms: now - 1000,
      ...fields,
    });
    await knex('login_scenes').insert([
      scene('number-picked', { way: 'oa-qr', scanner_openid: 'o_admin', number: '42', confirmed_at_ms: now - 500 }),
      scene('mini-tap', { way: 'miniprogram-code', scanner_user_id: Number(userId), number: null, confirmed_at_ms: now - 500 }),
      scene('at-once', { way: 'oa-qr', scanner_openid: 'o_admin', number: null, confirmed_at_ms: null }),
      scene('code-sent', { way: 'oa-code', scanner_openid: 'o_admin', number: null, confirmed_at_ms: null, code_hash: 'h'.repeat(64) }),
    ]);
    const states = createSceneStates({ scenes: createLoginSceneQueries(knex), confirmation: { approvedAtOnce: 'any device', needsConfirmation: async () => false, askToConfirm: async () => ({ kind: 'refused' }) } });
    const confirmedAt = async (name: string) => {
      const state = await states.stateOf(name);
      return state.status === 'approved' ? state.confirmedAt : 'not approved';
    };
    t.is(await confirmedAt('number-picked'), now - 500);
    t.is(await confirmedAt('mini-tap'), undefined);
    t.is(await confirmedAt('at-once'), undefined);
    t.is(await confirmedAt('code-sent'), now - 1000);
    if (kind === 'mysql') {
      const [rows] = await knex.raw('SELECT @@session.time_zone AS zone');
      t.is(rows[0].zone, '+00:00', 'the console counts by UNIX_TIMESTAMP, which reads DATETIMEs in the session zone');
    }
  });
}
