import net from 'node:net';

const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Whether Redis answers PING; with REQUIRE_REDIS=1 an unreachable Redis fails the run instead of skipping. */
export async function isRedisAvailable(): Promise<boolean> {
  const url = new URL(redisUrl);
  const answered = await new Promise<boolean>((resolve) => {
    const socket = net.connect(Number(url.port || 6379), url.hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
  if (!answered && process.env.REQUIRE_REDIS === '1') throw new Error(`REQUIRE_REDIS=1 but Redis at ${url.host} is unreachable`);
  if (!answered) console.warn(`\n  Redis suites SKIPPED: no Redis at ${url.host} (set TEST_REDIS_URL, or REQUIRE_REDIS=1 to fail instead)\n`);
  return answered;
}
