import test from 'ava';
import { createDeviceMemory } from '../../../src/login/session/device-memory.js';

/** Queries that record what they were asked, and whose writes finish when the test says. */
function fakeQueries() {
  const calls: string[] = [];
  let release = () => {};
  let gate = Promise.resolve();
  return {
    calls,
    hold: () => (gate = new Promise<void>((resolve) => (release = resolve))),
    release: () => release(),
    queries: {
      isKnownDevice: async (userId: number, hash: string) => (calls.push(`known? ${userId} ${hash}`), true),
      rememberDevicesOfSessions: async (ids: number[]) => {
        calls.push(`remember ${ids.join(',')}`);
        await gate;
      },
      forgetEachDevice: async (devices: { userId: number; deviceHash: string }[]) => void calls.push(`forget ${devices.map((device) => device.deviceHash).join(',')}`),
    },
  };
}

const logger = { warn: () => {} };

test('the browsers of a window are remembered in one write, then the ids they came with forgotten', async (t) => {
  const fake = fakeQueries();
  const memory = createDeviceMemory({ queries: fake.queries, logger, windowMs: 10_000 });
  // One browser logging in twice: its first new id (d1) is the second login's old id, and must end forgotten.
  memory.rememberAfterLogin({ userId: 1, sessionId: 10, deviceHash: 'd1', previousDeviceHash: 'd0' });
  memory.rememberAfterLogin({ userId: 1, sessionId: 11, deviceHash: 'd2', previousDeviceHash: 'd1' });
  memory.rememberAfterLogin({ userId: 2, sessionId: 12, deviceHash: 'e1' });
  await memory.settled();
  t.deepEqual(fake.calls, ['remember 10,11,12', 'forget d0,d1']);
});

test('a check waits only for a write of its own browser, and at most its limit; then the browser counts as unknown', async (t) => {
  const fake = fakeQueries();
  const memory = createDeviceMemory({ queries: fake.queries, logger, windowMs: 0, longestWaitMs: 50 });
  t.true(await memory.isKnownDevice(1, 'other'), 'nothing pending: asked at once');
  fake.hold();
  memory.rememberAfterLogin({ userId: 1, sessionId: 10, deviceHash: 'd1' });
  t.true(await memory.isKnownDevice(2, 'unrelated'), 'another browser does not wait');
  t.false(await memory.isKnownDevice(1, 'd1'), 'its own write is stuck: unknown, so the phone is asked');
  t.false(fake.calls.includes('known? 1 d1'));
  fake.release();
  await memory.settled();
  t.true(await memory.isKnownDevice(1, 'd1'), 'written: asked');
  await memory.settledForUser(1);
});

test('the id a browser came with counts as pending until it is forgotten: a copy of it waits, and the one-statement scan leaves it out', async (t) => {
  const fake = fakeQueries();
  const memory = createDeviceMemory({ queries: fake.queries, logger, windowMs: 0, longestWaitMs: 50 });
  fake.hold();
  memory.rememberAfterLogin({ userId: 1, sessionId: 10, deviceHash: 'd1', previousDeviceHash: 'd0' });
  t.deepEqual(memory.pendingBrowsers().sort(), ['d0', 'd1']);
  t.false(await memory.isKnownDevice(1, 'd0'), 'a copied old id is not known while its forgetting is pending');
  fake.release();
  await memory.settled();
  t.deepEqual(memory.pendingBrowsers(), []);
});
