import type { Knex } from 'knex';

/** Data access for `known_devices`: the browsers a user has completed a login in. */
export function createKnownDeviceQueries(knex: Knex) {
  const table = () => knex<Record<string, unknown>>('known_devices');

  async function isKnownDevice(userId: number, deviceHash: string): Promise<boolean> {
    return Boolean(await table().where({ user_id: userId, device_hash: deviceHash }).first('id'));
  }

  /**
   * Remembers the device; a device already known only has its last-seen time
   * moved. One statement either way (MySQL ON DUPLICATE KEY UPDATE, SQLite ON
   * CONFLICT DO UPDATE): the unique (user_id, device_hash) index decides, so
   * two logins in one browser at once leave one row.
   */
  async function rememberDevice(userId: number, deviceHash: string, now: number): Promise<void> {
    await table()
      .insert({ user_id: userId, device_hash: deviceHash, first_seen_at_ms: now, last_seen_at_ms: now })
      .onConflict(['user_id', 'device_hash'])
      .merge(['last_seen_at_ms']);
  }

  /**
   * Remembers the browsers of these sessions for their users, in one
   * statement, as rememberDevice does for one: only for sessions still live,
   * so that a session ended before this runs (which forgot its browser then)
   * cannot bring its browser back, and for the user the session belongs to now.
   */
  async function rememberDevicesOfSessions(sessionIds: number[], now: number): Promise<void> {
    const select = knex('user_sessions')
      .whereIn('id', sessionIds)
      .whereNull('revoked_at')
      .whereNotNull('device_hash')
      .select('user_id', 'device_hash', knex.raw('? as first_seen_at_ms', [now]), knex.raw('? as last_seen_at_ms', [now]))
      .toSQL()
      .toNative();
    const columns = 'INSERT INTO known_devices (user_id, device_hash, first_seen_at_ms, last_seen_at_ms)';
    // MySQL's upsert, or SQLite's (whose INSERT … SELECT needs a WHERE before ON CONFLICT, and has one).
    const upsert = knex.client.config.client === 'mysql2' ? 'ON DUPLICATE KEY UPDATE last_seen_at_ms = VALUES(last_seen_at_ms)' : 'ON CONFLICT (user_id, device_hash) DO UPDATE SET last_seen_at_ms = excluded.last_seen_at_ms';
    await knex.raw(`${columns} ${select.sql} ${upsert}`, [...select.bindings] as Knex.RawBinding[]);
  }

  /** Forgets, in one statement, each of these browsers of its user (nothing for none). */
  async function forgetEachDevice(devices: { userId: number; deviceHash: string }[]): Promise<void> {
    if (devices.length === 0) return;
    // Grouped by user: each (user_id, device_hash IN …) goes through the unique index.
    const byUser = new Map<number, string[]>();
    for (const device of devices) byUser.set(device.userId, [...(byUser.get(device.userId) ?? []), device.deviceHash]);
    await knex('known_devices')
      .where((any) => {
        for (const [userId, hashes] of byUser) any.orWhere((one) => one.where('user_id', userId).whereIn('device_hash', hashes));
      })
      .delete();
  }

  /** Forgets these browsers of the user (all of them when `deviceHashes` is undefined): their next login asks the phone again. */
  async function forgetDevices(userId: number, deviceHashes?: string[], trx?: Knex.Transaction): Promise<void> {
    const query = (trx ?? knex)('known_devices').where({ user_id: userId });
    if (deviceHashes) query.whereIn('device_hash', deviceHashes);
    await query.delete();
  }

  return { isKnownDevice, rememberDevice, rememberDevicesOfSessions, forgetEachDevice, forgetDevices };
}

export type KnownDeviceQueries = ReturnType<typeof createKnownDeviceQueries>;
