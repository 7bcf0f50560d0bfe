import { loadEnvFile } from '../../src/db/env-file.js';
import { runMain } from '../../src/server.js';

/**
 * The server as `npm start` runs it, plus GET /__bench/stats (listener count,
 * heap after a forced GC) for the memory and leak scenarios. The route lives
 * here, in the bench's own entry, never in the app.
 */
loadEnvFile();
runMain({
  beforeListen(handle) {
    handle.app.use(async (ctx, next) => {
      if (ctx.path !== '/__bench/stats') return next();
      (globalThis as { gc?: () => void }).gc?.();
      const memory = process.memoryUsage();
      ctx.body = { listeners: handle.hub.listenerCount(), heapUsed: memory.heapUsed, rss: memory.rss };
    });
  },
});
