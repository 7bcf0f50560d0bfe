/**
 * A clock for a test server (startServer's `clock`): real time plus however
 * far the test moved it, so that "five minutes later" takes no five minutes.
 * Timers (a poll's timeout) still run on real time.
 */
export function createTestClock() {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance(ms: number): void {
      offsetMs += ms;
    },
  };
}

export type TestClock = ReturnType<typeof createTestClock>;
