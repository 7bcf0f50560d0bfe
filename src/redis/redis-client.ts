import Redis from 'ioredis';
import type { Logger } from '../logging/logger.js';

/**
 * A Redis connection that fails fast while Redis is away instead of queueing
 * commands: callers then fall back (to the database, or to this instance's
 * memory) rather than hanging a login. It reconnects by itself.
 */
export function createRedisClient(url: string, logger: Logger, role: 'publisher' | 'subscriber'): Redis {
  const client = new Redis(url, {
    // The subscriber may queue its SUBSCRIBE until connected (ioredis re-subscribes after reconnects by itself).
    enableOfflineQueue: role === 'subscriber',
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let lastLogged = 0;
  client.on('error', (error) => {
    // One line per 10 s at most: an outage must not flood the log.
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    logger.warn('redis unavailable', { role, error: error.message });
  });
  return client;
}
