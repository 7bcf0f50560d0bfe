import test from 'ava';
import { createKnownDeviceQueries } from '../../src/db/known-devices.js';
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
}
