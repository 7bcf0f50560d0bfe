import http from 'node:http';
import { createApp, type AppHandle } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import type { Knex } from 'knex';
import { assertStrictSqlMode, createKnex, StrictModeError } from './db/knex.js';
import { createPendingMigrations } from './db/pending-migrations.js';
import type { Logger } from './logging/logger.js';
import { applyServerTimeouts } from './http/server-timeouts.js';
import { createLogger } from './logging/logger.js';

/** SIGTERM to exit: in-flight callbacks get this long to finish. */
const shutdownDeadlineMs = 10_000;

export interface RunOptions {
  /** Runs once the app is built, before it listens (the bench mounts its stats route here). */
  beforeListen?: (handle: AppHandle) => void;
}

/** Connections opened before the server listens (MySQL; SQLite has one): the first seconds after a restart pay no connects. */
const warmConnections = 4;

/**
 * Opens `warmConnections` pool connections at once, before listening: each
 * new MySQL connection costs a TCP and authentication round trip and a
 * sql_mode check (knex.ts), which would otherwise land on the first logins
 * after a restart. The pool keeps at least as many (its `min`).
 */
async function warmPool(knex: Knex, logger: Logger): Promise<void> {
  if (knex.client.config.client !== 'mysql2') return;
  try {
    await Promise.all(Array.from({ length: warmConnections }, () => knex.raw('SELECT 1')));
  } catch (error) {
    logger.warn('could not open the database connections at start', { error: (error as Error).message });
  }
}

/** Loads the configuration, opens (and for SQLite migrates) the database, listens, and shuts down on SIGTERM. */
export async function runServer(options: RunOptions = {}): Promise<void> {
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
  const logger = createLogger({ level: config.logLevel });
  if (config.usingDevelopmentSessionKey) {
    logger.warn('SESSION_KEYS is not set: using the development key. Set SESSION_KEYS before going live.');
  }

  const knex = createKnex(config.databaseUrl);
  try {
    await assertStrictSqlMode(knex);
  } catch (error) {
    if (error instanceof StrictModeError) throw error;
    // Unreachable now: start anyway (/readyz says so); each new connection is checked when it opens.
    logger.warn('database unreachable at start; sql_mode is checked when it answers', { error: (error as Error).message });
  }
  if (config.databaseUrl.startsWith('sqlite:')) {
    // The embedded database migrates itself, so that `npm start` works on a fresh machine.
    await knex.migrate.latest();
  }
  const pending = await pendingMigrationsAtStart(knex, logger);
  await warmPool(knex, logger);
  const handle = createApp({ config, knex, logger });
  options.beforeListen?.(handle);
  try {
    await handle.ready();
  } catch (error) {
    // The OpenID Provider keeps its keys in the database: without its tables it cannot start at all.
    if (pending.length > 0) throw new Error(`the database is not migrated (${pending.length} pending, from ${pending[0]}): run \`npm run migrate\` first`);
    throw error;
  }
  const server = http.createServer(handle.app.callback());
  applyServerTimeouts(server);
  server.listen(config.port, config.host, () => {
    logger.info('listening', { url: config.publicUrl, simulator: config.simulator, database: config.databaseUrl.split(':')[0] });
    if (config.simulator) logger.info(`simulator on: open ${config.publicUrl}/login and ${config.publicUrl}/simulator`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Whatever happens below, the process is gone within the deadline.
    setTimeout(() => process.exit(1), shutdownDeadlineMs).unref();
    // Stop accepting; held polls answer "pending" at once and their scripts re-poll a live instance.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    handle.drain();
    server.closeIdleConnections();
    // In-flight requests (callbacks included) finish; then the connections close.
    await closed;
    await handle.close();
    await knex.destroy();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * MySQL is migrated by the operator (`npm run migrate`), never on start: a
 * database that lacks migrations serves 500s, so say so at once, by name.
 * /readyz stays 503 until they have run.
 */
async function pendingMigrationsAtStart(knex: Knex, logger: Logger): Promise<string[]> {
  try {
    const pending = await createPendingMigrations(knex)();
    if (pending.length > 0) {
      logger.error('the database is not migrated: run `npm run migrate` (or `npm run migrate:built`); /readyz answers 503 until then', { pendingMigrations: pending });
    }
    return pending;
  } catch (error) {
    logger.warn('could not read the migrations the database has run', { error: (error as Error).message });
    return [];
  }
}

/** Starts the server; a start that fails says why on stderr and exits 1. */
export function runMain(options: RunOptions = {}): void {
  runServer(options).catch((error) => {
    process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
