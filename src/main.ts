import 'dotenv/config';
import http from 'node:http';
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createKnex } from './db/knex.js';
import { createConsoleLogger } from './http/error-handler.js';

/** Loads the configuration, opens (and for SQLite migrates) the database, listens, and shuts down on SIGTERM. */
async function main(): Promise<void> {
  const logger = createConsoleLogger();
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (config.usingDevelopmentSessionKey) {
    logger.warn('SESSION_KEYS is not set: using the development key. Set SESSION_KEYS before going live.');
  }

  const knex = createKnex(config.databaseUrl);
  if (config.databaseUrl.startsWith('sqlite:')) {
    // The embedded database migrates itself, so that `npm start` works on a fresh machine.
    await knex.migrate.latest();
  }
  const handle = createApp({ config, knex, logger });
  const server = http.createServer(handle.app.callback());
  server.listen(config.port, config.host, () => {
    logger.info('listening', { url: config.publicUrl, simulator: config.simulator, database: config.databaseUrl.split(':')[0] });
    if (config.simulator) logger.info(`simulator on: open ${config.publicUrl}/login and ${config.publicUrl}/simulator`);
  });

  const shutdown = () => {
    logger.info('shutting down');
    server.close(() => {
      handle.close();
      void knex.destroy().then(() => process.exit(0));
    });
    server.closeIdleConnections();
    // Held polls would keep the server open; they re-poll and reach a live instance.
    setTimeout(() => server.closeAllConnections(), 1000).unref();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
