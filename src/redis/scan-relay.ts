import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { Logger } from '../logging/logger.js';
import type { LoginHub } from '../login/scan/login-hub.js';

const channel = 'wechat-login:scans';
const readyTimeoutMs = 3000;

/**
 * Relays scan wake-ups between instances through Redis pub/sub: WeChat's
 * callback may land on instance A while the browser's poll is held by B.
 * Every scan is published locally at once and to Redis; messages from other
 * instances are published on the local hub. If Redis is away, polls still
 * find the login when they next check the database.
 */
export function createScanRelay(publisher: Redis, subscriber: Redis, hub: LoginHub, logger: Logger) {
  const instanceId = randomBytes(8).toString('hex');

  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const separator = message.indexOf(' ');
    const sender = message.slice(0, separator);
    const scene = message.slice(separator + 1);
    if (sender !== instanceId && scene) hub.publish(scene);
  });
  const subscribed = subscriber.subscribe(channel).then(
    () => undefined,
    (error: Error) => logger.warn('redis subscribe failed; scans reach other instances through the database only', { error: error.message }),
  );

  function announce(scene: string): void {
    hub.publish(scene);
    publisher.publish(channel, `${instanceId} ${scene}`).catch(() => {
      // Logged by the client's error handler; the database remains the source of truth.
    });
  }

  /** Waits for the subscription, but never more than a moment: a start must not hang on a Redis outage. */
  const ready = () => Promise.race([subscribed, new Promise<void>((resolve) => setTimeout(resolve, readyTimeoutMs).unref())]);

  return { announce, ready };
}
