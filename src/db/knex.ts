// No relative imports in this file: the knex CLI loads it through knexfile.ts with sucrase,
// which does not map `./x.js` to `./x.ts`.

import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';

/** The repository root (src/db or dist/db, two levels up); knex.ts repeats env-file.ts's line rather than import it (see the top). */
const projectRoot = path.resolve(__dirname, '../..');

/** True when this code runs compiled (`node dist/…`), false under tsx. */
const compiled = __filename.endsWith('.js');

/**
 * Where the migrations are: `migrations/*.ts` beside the sources, or
 * `dist/migrations/*.js` in the build (npm run build compiles them there).
 */
export const migrationsDirectory = compiled ? path.resolve(__dirname, '../migrations') : path.resolve(__dirname, '../../migrations');

/**
 * Lists and loads the migrations, naming each by its source file
 * (`20261121000001_create_users.ts`) whether it runs as TypeScript or as
 * compiled JavaScript. knex records these names in `knex_migrations`; with
 * its default source, a database migrated by `npm run migrate` would look
 * "corrupt" (missing `.ts` files) to the compiled server, and the other way round.
 */
export function createMigrationSource(directory = migrationsDirectory): Knex.MigrationSource<MigrationFile> {
  const extension = compiled ? '.js' : '.ts';
  return {
    async getMigrations() {
      return readdirSync(directory)
        .filter((file) => file.endsWith(extension) && !file.endsWith('.d.ts'))
        .sort()
        .map((source) => ({ file: source.replace(/\.(ts|js)$/, '.ts'), source }));
    },
    getMigrationName(migration) {
      return migration.file;
    },
    async getMigration(migration) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.join(directory, migration.source)) as Knex.Migration;
    },
  };
}

/**
 * One migration of the folder: `file` is the name knex records (the `.ts`
 * source name) and the knex CLI's `migrate:status` prints (plain strings
 * printed "undefined"); `source` is the file loaded, `.ts` or compiled `.js`.
 */
export interface MigrationFile {
  file: string;
  source: string;
}

/**
 * The knex configuration for `mysql://user:pass@host:port/db` or `sqlite:PATH`
 * (whose folder is created if missing).
 * Shared by the server and knexfile.ts, so `npm run migrate` and `npm start`
 * always agree.
 */
export function knexConfigFromUrl(databaseUrl: string): Knex.Config {
  // Named by their .ts source whether run by tsx or compiled (see createMigrationSource).
  const migrations: Knex.MigratorConfig = { migrationSource: createMigrationSource(), tableName: 'knex_migrations' };
  if (databaseUrl.startsWith('sqlite:')) {
    const given = databaseUrl.slice('sqlite:'.length) || ':memory:';
    // Relative to the repository root, wherever the process runs: the knex CLI changes into the
    // knexfile's folder (dist/db for migrate:built), and the server and the CLI must open one file.
    const filename = given === ':memory:' ? given : path.resolve(projectRoot, given);
    // The knex CLI opens the file too, so the folder is made here rather than by the server alone.
    if (filename !== ':memory:') mkdirSync(path.dirname(filename), { recursive: true });
    return {
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      migrations,
      pool: {
        // SQLite leaves foreign keys off unless each connection asks; WAL lets the poll read while a callback writes.
        afterCreate(connection: { pragma(sql: string): void }, done: (error: Error | null, connection: unknown) => void) {
          connection.pragma('foreign_keys = ON');
          connection.pragma('journal_mode = WAL');
          // In WAL mode NORMAL stays consistent after a crash and skips an fsync per commit.
          connection.pragma('synchronous = NORMAL');
          connection.pragma('busy_timeout = 5000');
          done(null, connection);
        },
      },
    };
  }
  if (databaseUrl.startsWith('mysql://')) {
    const url = new URL(databaseUrl);
    return {
      client: 'mysql2',
      connection: {
        host: url.hostname,
        port: url.port ? Number(url.port) : 3306,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: url.pathname.replace(/^\//, '') || undefined,
        charset: 'utf8mb4',
        // Store and read every DATETIME as UTC, whatever the server's zone.
        timezone: 'Z',
        connectTimeout: 5000,
      },
      pool: {
        // Kept open while idle (server.ts opens them at start): a login after a quiet minute pays no connect.
        min: 4,
        max: 10,
        afterCreate(connection: MysqlConnection, done: (error: Error | null, connection: unknown) => void) {
          // DATETIMEs are written as UTC (timezone 'Z' above); the session's zone is UTC too, so that the database's
          // own time functions (UNIX_TIMESTAMP, in the console's counts) read them as such, whatever the server's zone.
          // REPEATABLE READ (MariaDB's and MySQL's default, pinned): the known browsers written after a login read the
          // sessions with locks, so a session ended meanwhile is seen ended (login/session/device-memory.ts).
          connection.query("SET time_zone = '+00:00'", (zoneError) => {
            if (zoneError) return done(zoneError, connection);
            connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ', (isolationError) => {
              if (isolationError) return done(isolationError, connection);
              connection.query('SELECT @@SESSION.sql_mode AS mode', (error, rows) => {
                if (error) return done(error, connection);
                const mode = String(rows[0]?.mode ?? '');
                done(isStrict(mode) ? null : new StrictModeError(mode), connection);
              });
            });
          });
        },
      },
      acquireConnectionTimeout: 5000,
      migrations,
    };
  }
  throw new Error('DATABASE_URL must start with sqlite: or mysql://');
}

/** Opens the database (without migrating it). */
export function createKnex(databaseUrl: string): Knex {
  return knexFactory(knexConfigFromUrl(databaseUrl));
}

/** MySQL runs without strict mode: too-long values would be cut silently rather than refused. */
export class StrictModeError extends Error {
  constructor(mode: string) {
    super(
      `MySQL strict mode is off (sql_mode="${mode}"): too-long values would be cut silently. ` +
        "Add STRICT_TRANS_TABLES to sql_mode in the server's configuration (MariaDB and MySQL have it by default).",
    );
    this.name = 'StrictModeError';
  }
}

function isStrict(mode: string): boolean {
  return /\bSTRICT_(TRANS|ALL)_TABLES\b/.test(mode);
}

/**
 * MySQL/MariaDB only: throws StrictModeError unless the session's sql_mode
 * is strict (STRICT_TRANS_TABLES or STRICT_ALL_TABLES). Without it, a value
 * longer than its column is cut instead of refused, and a cut openid could
 * name someone else. main.ts calls it at start; every new pooled connection
 * is checked the same way, so a server that was unreachable at start is
 * still checked.
 */
export async function assertStrictSqlMode(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'mysql2') return;
  const [rows] = (await knex.raw('SELECT @@SESSION.sql_mode AS mode')) as [{ mode: string | null }[]];
  const mode = String(rows[0]?.mode ?? '');
  if (!isStrict(mode)) throw new StrictModeError(mode);
}

type MysqlConnection = { query(sql: string, callback: (error: Error | null, rows: { mode: string | null }[]) => void): void };
