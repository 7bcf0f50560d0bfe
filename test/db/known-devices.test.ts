import test from 'ava';
import { createKnownDeviceQueries } from '../../src/db/known-devices.js';
import { createUserSessionQueries } from '../../src/db/user-sessions.js';
import { databaseKinds, migratedDatabase } from '../helpers/databases.js';

for (const { kind, enabled } of databaseKinds) {
  const dbTest = enabled ? test : test.skip;

  dbTest(`${kind}: a device is remembered once; a later login moves its last-seen time and keeps its first`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const devices = createKnownDeviceQueries(knex);
    const [userId] = await knex('users').insert({ openid: 'o_device', subscribed: true, session_version: 0, created_at: new Date(), updated_at: new Date() });
    t.false(await devices.isKnownDevice(userId, 'hash-a'));
    await devices.rememberDevice(userId, 'hash-a', 1_000);
    await devices.rememberDevice(userId, 'hash-a', 5_000);
    await devices.rememberDevice(userId, 'hash-b', 6_000);
    t.true(await devices.isKnownDevice(userId, 'hash-a'));
    const rows = await knex('known_devices').where({ user_id: userId }).orderBy('device_hash');
    t.deepEqual(
      rows.map((row) => [row.device_hash, Number(row.first_seen_at_ms), Number(row.last_seen_at_ms)]),
      [
        ['hash-a', 1_000, 5_000],
        ['hash-b', 6_000, 6_000],
      ],
    );
  });

  dbTest(`${kind}: parallel logins in one browser leave one row`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const devices = createKnownDeviceQueries(knex);
    const [userId] = await knex('users').insert({ openid: 'o_parallel', subscribed: true, session_version: 0, created_at: new Date(), updated_at: new Date() });
    await Promise.all(Array.from({ length: 8 }, (_, index) => devices.rememberDevice(userId, 'hash-same', 1_000 + index)));
    const rows = await knex('known_devices').where({ user_id: userId });
    t.is(rows.length, 1);
    t.is(Number(rows[0].first_seen_at_ms) >= 1_000, true);
  });

  dbTest(`${kind}: the browsers of sessions are remembered in one statement, only while their session is live; forgetting none forgets nothing`, async (t) => {
    const knex = await migratedDatabase(t, kind);
    const devices = createKnownDeviceQueries(knex);
    const sessions = createUserSessionQueries(knex);
    const at = new Date();
    const [userId] = await knex('users').insert({ openid: 'o_batch', subscribed: true, session_version: 0, created_at: at, updated_at: at });
    const start = (token: string, deviceHash: string) => sessions.insertSession(token, { userId, method: 'qrcode', ip: '127.0.0.1', userAgent: 'ua', deviceHash, expiresAt: new Date(at.getTime() + 3_600_000) }, at);
    const live = (await start('live', 'hash-live'))!;
    const again = (await start('again', 'hash-live'))!;
    const ended = (await start('ended', 'hash-ended'))!;
    await sessions.revokeSession(userId, ended, at, 'revoked');
    await devices.rememberDevicesOfSessions([live, again, ended], 5_000);
    t.deepEqual(await knex('known_devices').where({ user_id: userId }).pluck('device_hash'), ['hash-live'], 'one row for two sessions of one browser; none for the ended session');
    await devices.rememberDevicesOfSessions([live], 9_000);
    const row = await knex('known_devices').where({ user_id: userId }).first();
    t.deepEqual([Number(row.first_seen_at_ms), Number(row.last_seen_at_ms)], [5_000, 9_000]);
    await devices.forgetEachDevice([]);
    t.true(await devices.isKnownDevice(userId, 'hash-live'));
    await devices.forgetEachDevice([{ userId, deviceHash: 'hash-live' }, { userId: userId + 1, deviceHash: 'hash-live' }]);
    t.false(await devices.isKnownDevice(userId, 'hash-live'));
  });
}
