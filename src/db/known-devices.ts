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

  /** Forgets these browsers of the user (all of them when `deviceHashes` is undefined): their next login asks the phone again. */
  async function forgetDevices(userId: number, deviceHashes?: string[], trx?: Knex.Transaction): Promise<void> {
    const query = (trx ?? knex)('known_devices').where({ user_id: userId });
    if (deviceHashes) query.whereIn('device_hash', deviceHashes);
    await query.delete();
  }

  return { isKnownDevice, rememberDevice, forgetDevices };
}

export type KnownDeviceQueries = ReturnType<typeof createKnownDeviceQueries>;
