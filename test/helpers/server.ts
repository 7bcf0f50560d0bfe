import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { createApp, type AppHandle } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createKnex } from '../../src/db/knex.js';
import type { Logger } from '../../src/logging/logger.js';
import { applyServerTimeouts } from '../../src/http/server-timeouts.js';
import { loadOidcSigningKeys } from '../../src/oidc/signing-keys.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { testSigningKey } from './test-signing-key.js';

export interface TestServer {
  url: string;
  config: Config;
  knex: Knex;
  handle: AppHandle;
  database: TestDatabase;
  logs: { level: string; message: string; fields?: Record<string, unknown> }[];
  /** The server's clock (a test clock when the test passed one): WeChat's timestamps follow it. */
  now: () => number;
  close(): Promise<void>;
}

/**
 * The plain scan-to-login flow (a scan logs the browser in at once). Tests of
 * that flow say so explicitly; the default, LOGIN_CONFIRM=new-device, asks a
 * new browser's scanner to confirm in WeChat (test/login/confirm/confirm.test.ts).
 */
export const plainScanLogin = { LOGIN_CONFIRM: 'off' } as const;

export interface StartOptions {
  database?: 'sqlite' | 'mysql';
  env?: Record<string, string>;
  /** A real logger (pino, say) instead of the collector behind `logs`, which then stays empty. */
  logger?: Logger;
  /**
   * PUBLIC_URL says https (as behind a TLS proxy), while the tests still talk plain http to the port:
   * cookies are Secure and __Host-, HSTS is sent. WeChat's API stays the simulator's, over http.
   */
  publicHttps?: boolean;
  /** The app's clock (test/helpers/test-clock.ts): moved by the test instead of sleeping. */
  clock?: () => number;
  /** A database another instance uses too (two instances, one database): migrated if need be, never dropped here. */
  sharedDatabase?: TestDatabase;
}

/** What a test (or hook) offers for cleanup: ava's `t`. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * A real server for one test: started now, closed (and its database dropped)
 * when the test ends.
 */
export async function startServer(t: Teardown, options: StartOptions = {}): Promise<TestServer> {
  const server = await startSharedServer(options);
  t.teardown(() => server.close());
  return server;
}

/**
 * A real server on a free loopback port, with a fresh migrated database. The
 * port is known before the config is built, so PUBLIC_URL (and with it the
 * simulator's addresses) point at this very server. The caller closes it
 * (for a server shared by the tests of a file, in `test.after.always`).
 */
export async function startSharedServer(options: StartOptions = {}): Promise<TestServer> {
  const database = options.sharedDatabase ?? (await createTestDatabase(options.database ?? 'sqlite'));
  const server = http.createServer();
  // The production timeouts, set before listen as main.ts does.
  applyServerTimeouts(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    PORT: String(port),
    PUBLIC_URL: options.publicHttps ? url.replace('http://', 'https://') : url,
    ...(options.publicHttps ? { WECHAT_API_BASE: `${url}/simulator/api`, WECHAT_OPEN_BASE: `${url}/simulator/api` } : {}),
    DATABASE_URL: database.url,
    SESSION_KEYS: 'test-session-key-0123456789',
    LOGIN_POLL_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const knex = createKnex(config.databaseUrl);
  await knex.migrate.latest();
  // The app's first start would generate the OpenID Provider's signing key (~250 ms of CPU) in this fresh
  // database. The test makes it as that start would, from an RSA key made once (test-signing-key.ts); the app then reads it.
  // test/oidc/clients-and-keys.test.ts tests the real generator and rotation.
  if (config.oidc.enabled) await loadOidcSigningKeys(knex, config.keys.oidcSigningKey, testSigningKey);
  const logs: TestServer['logs'] = [];
  const logger: Logger = {
    info: (message, fields) => logs.push({ level: 'info', message, fields }),
    warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    error: (message, fields) => logs.push({ level: 'error', message, fields }),
  };
  const handle = createApp({ config, knex, logger: options.logger ?? logger, clock: options.clock });
  await handle.ready();
  server.on('request', handle.app.callback());
  return {
    url,
    config,
    knex,
    handle,
    database,
    logs,
    now: options.clock ?? Date.now,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handle.close();
      await knex.destroy();
      if (!options.sharedDatabase) await database.drop();
    },
  };
}
