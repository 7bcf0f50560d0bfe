import { createBatchedWrites } from '../../db/batched-writes.js';
import type { KnownDeviceQueries } from '../../db/known-devices.js';
import type { Logger } from '../../logging/logger.js';

/** How long remembered browsers wait to be written together: far less than any person takes to log in again. */
export const deviceMemoryWindowMs = 50;
/** The longest a check waits for a pending write; past it the browser counts as unknown (one more question on the phone). */
const longestWaitDefaultMs = 1000;

export interface DeviceMemoryDeps {
  queries: Pick<KnownDeviceQueries, 'isKnownDevice' | 'rememberDevicesOfSessions' | 'forgetEachDevice'>;
  logger: Pick<Logger, 'warn'>;
  windowMs?: number;
  longestWaitMs?: number;
  now?: () => number;
}

/** A login's browser to remember: its session and the device id it has now, and the one it came with (replaced by this login), hashed. */
export interface LoginDevice {
  userId: number;
  sessionId: number;
  deviceHash: string;
  previousDeviceHash?: string;
}

/**
 * The browsers users completed a login in (known_devices,
 * LOGIN_CONFIRM=new-device), remembered after the login has answered and
 * many at a time: every login of a window is one INSERT of their sessions'
 * browsers, and one DELETE of the device ids they came with, instead of
 * round trips on the login's path.
 *
 * What is written late can never be wrong later: a browser is remembered
 * only while its session is live (db/known-devices.ts), and every session
 * is ended before its browser is forgotten, so a write that lands after the
 * forgetting writes nothing (MySQL's INSERT … SELECT reads the sessions with
 * locks under REPEATABLE READ, which db/knex.ts pins, waiting for a
 * transaction that is ending them). In this process, a check of a browser
 * with a write pending, and the end of a session of a user with one, wait
 * for it first (at most a second: then the browser counts as unknown); on
 * another instance within the window, either means one more question on the
 * phone, the safe side.
 */
export function createDeviceMemory(deps: DeviceMemoryDeps) {
  const now = deps.now ?? Date.now;
  const writes = createBatchedWrites<LoginDevice>({ write, windowMs: deps.windowMs ?? deviceMemoryWindowMs, logger: deps.logger, what: 'the devices of logins' });
  /** Pending writes by user and by browser: only a check that concerns one of them waits. */
  const pendingUsers = new Map<number, number>();
  const pendingDevices = new Map<string, number>();
  const count = (map: Map<string | number, number>, key: string | number, by: number) => {
    const left = (map.get(key) ?? 0) + by;
    if (left > 0) map.set(key, left);
    else map.delete(key);
  };

  /** The browsers a pending write concerns: the id a login gave, and the id it replaced (to be forgotten). */
  const hashesOf = (device: LoginDevice) => (device.previousDeviceHash ? [device.deviceHash, device.previousDeviceHash] : [device.deviceHash]);

  function rememberAfterLogin(device: LoginDevice): void {
    count(pendingUsers, device.userId, 1);
    for (const hash of hashesOf(device)) count(pendingDevices, hash, 1);
    writes.add(device);
  }

  async function write(batch: LoginDevice[]): Promise<void> {
    try {
      // Remembered first, then the ids the browsers came with forgotten: of two logins of one browser in a batch,
      // the first one's new id is the second one's old id, and must end forgotten. A login never keeps the id it came with.
      // Each is tried whatever became of the other: the forgetting matters most (a planted or copied id).
      const failures: unknown[] = [];
      await onceMoreOnDeadlock(() => deps.queries.rememberDevicesOfSessions(batch.map((device) => device.sessionId), now())).catch((error) => failures.push(error));
      const replaced = batch.filter((device) => device.previousDeviceHash).map((device) => ({ userId: device.userId, deviceHash: device.previousDeviceHash! }));
      await onceMoreOnDeadlock(() => deps.queries.forgetEachDevice(replaced)).catch((error) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    } finally {
      for (const device of batch) {
        count(pendingUsers, device.userId, -1);
        for (const hash of hashesOf(device)) count(pendingDevices, hash, -1);
      }
    }
  }

  /** Resolves once the pending writes are done, or after a second: false then. */
  async function waitForWrites(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deps.longestWaitMs ?? longestWaitDefaultMs)));
    const done = await Promise.race([writes.settled().then(() => true), late]);
    clearTimeout(timer);
    return done;
  }

  /** The browsers with a write pending here: a check that reads known_devices without asking here must leave them out. */
  const pendingBrowsers = (): string[] => [...pendingDevices.keys()];

  /** Known to the user: after the write of this browser (remembered or forgotten), when one is pending here. */
  async function isKnownDevice(userId: number, deviceHash: string): Promise<boolean> {
    if (pendingDevices.has(deviceHash) && !(await waitForWrites())) return false;
    return deps.queries.isKnownDevice(userId, deviceHash);
  }

  /** Before a session of the user ends: the browsers of their logins so far are written (only a live session's is). */
  async function settledForUser(userId: number): Promise<void> {
    if (pendingUsers.has(userId)) await waitForWrites();
  }

  return { rememberAfterLogin, isKnownDevice, pendingBrowsers, settledForUser, settled: writes.settled };
}

export type DeviceMemory = ReturnType<typeof createDeviceMemory>;

/** A deadlock (with a merge moving the same user's rows, say) is run again once: both statements may run twice. A lock waited on too long is not (that wait would double). */
async function onceMoreOnDeadlock(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ER_LOCK_DEADLOCK') throw error;
    await run();
  }
}
