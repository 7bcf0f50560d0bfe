import { createBatchedWrites } from '../../db/batched-writes.js';
import type { KnownDeviceQueries } from '../../db/known-devices.js';
import type { Logger } from '../../logging/logger.js';

/** How long remembered browsers wait to be written together: far less than any person takes to log in again. */
export const deviceMemoryWindowMs = 50;

export interface DeviceMemoryDeps {
  queries: Pick<KnownDeviceQueries, 'isKnownDevice' | 'rememberDevicesOfSessions' | 'forgetEachDevice'>;
  logger: Pick<Logger, 'warn'>;
  windowMs?: number;
  now?: () => number;
}

/** A login's browser to remember: its session, and the device id the browser came with (replaced by this login), hashed. */
export interface LoginDevice {
  userId: number;
  sessionId: number;
  previousDeviceHash?: string;
}

/**
 * The browsers users completed a login in (known_devices,
 * LOGIN_CONFIRM=new-device), remembered after the login has answered and
 * many at a time: every login of a window is one INSERT of their sessions'
 * browsers, and one DELETE of the device ids they came with, instead of a
 * round trip each on the login's path.
 *
 * What is written late can never be wrong later: a browser is remembered
 * only while its session is live (db/known-devices.ts), and every session
 * is ended before its browser is forgotten, so a write that lands after the
 * forgetting writes nothing (on MySQL the INSERT … SELECT reads the rows as
 * committed, waiting for a transaction that is ending them). A plain logout
 * keeps its browser known, so it waits for the writes before it, as a check
 * of a known browser does, in this process; on another instance within the
 * window, either means one more question on the phone, the safe side.
 */
export function createDeviceMemory(deps: DeviceMemoryDeps) {
  const now = deps.now ?? Date.now;
  const writes = createBatchedWrites<LoginDevice>({ write, windowMs: deps.windowMs ?? deviceMemoryWindowMs, logger: deps.logger, what: 'the devices of logins' });

  async function write(batch: LoginDevice[]): Promise<void> {
    const replaced = batch.filter((device) => device.previousDeviceHash).map((device) => ({ userId: device.userId, deviceHash: device.previousDeviceHash! }));
    // The ids the browsers came with first: a login never replaces a browser's id with the same one.
    if (replaced.length > 0) await deps.queries.forgetEachDevice(replaced);
    await deps.queries.rememberDevicesOfSessions(batch.map((device) => device.sessionId), now());
  }

  async function isKnownDevice(userId: number, deviceHash: string): Promise<boolean> {
    await writes.settled();
    return deps.queries.isKnownDevice(userId, deviceHash);
  }

  return { rememberAfterLogin: writes.add, settled: writes.settled, isKnownDevice };
}

export type DeviceMemory = ReturnType<typeof createDeviceMemory>;
