import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createKnex } from '../../src/db/knex.js';

export interface TestDatabase {
  name: 'sqlite' | 'mysql';
  url: string;
  drop(): Promise<void>;
}

const mysqlBaseUrl = process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306';
let mysqlReachable: Promise<boolean> | undefined;

/** Whether MariaDB/MySQL answers; with REQUIRE_MYSQL=1 an unreachable server fails the run instead of skipping. */
export function isMysqlAvailable(): Promise<boolean> {
  mysqlReachable ??= (async () => {
    const admin = adminKnex();
    try {
      await admin.raw('select 1');
      return true;
    } catch (error) {
      if (process.env.REQUIRE_MYSQL === '1') {
        throw new Error(`REQUIRE_MYSQL=1 but MySQL at ${redact(mysqlBaseUrl)} is unreachable: ${(error as Error).message}`);
      }
      console.warn(`\n  MySQL suites SKIPPED: no MySQL at ${redact(mysqlBaseUrl)} (set TEST_MYSQL_URL, or REQUIRE_MYSQL=1 to fail instead)\n`);
      return false;
    } finally {
      await admin.destroy();
    }
  })();
  return mysqlReachable;
}

function adminKnex() {
  const url = new URL(mysqlBaseUrl);
  return knexFactory({
    client: 'mysql2',
    connection: {
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      connectTimeout: 3000,
    },
    pool: { min: 0, max: 1 },
  });
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export function createSqliteDatabase(): TestDatabase {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'wechat-login-test-'));
  return {
    name: 'sqlite',
    url: `sqlite:${path.join(directory, 'test.sqlite3')}`,
    async drop() {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty MySQL database with a random name; `drop` removes it. */
export async function createMysqlDatabase(): Promise<TestDatabase> {
  const name = `wl_test_${randomBytes(6).toString('hex')}`;
  const admin = adminKnex();
  try {
    await admin.raw(`create database \`${name}\` character set utf8mb4 collate utf8mb4_unicode_ci`);
  } finally {
    await admin.destroy();
  }
  return {
    name: 'mysql',
    url: `${mysqlBaseUrl.replace(/\/+$/, '')}/${name}`,
    async drop() {
      const dropper = adminKnex();
      try {
        await dropper.raw(`drop database if exists \`${name}\``);
      } finally {
        await dropper.destroy();
      }
    },
  };
}

export function createTestDatabase(kind: 'sqlite' | 'mysql'): Promise<TestDatabase> {
  return kind === 'sqlite' ? Promise.resolve(createSqliteDatabase()) : createMysqlDatabase();
}

/**
 * The database kinds to declare tests for. `npm test` (test/run.ts) sets
 * TEST_MYSQL after probing; MySQL variants are declared as skipped otherwise.
 */
export const databaseKinds: { kind: 'sqlite' | 'mysql'; enabled: boolean }[] = [
  { kind: 'sqlite', enabled: true },
  { kind: 'mysql', enabled: process.env.TEST_MYSQL === '1' },
];

/** A fresh, migrated database of `kind` and a knex on it, both gone when the test ends. */
export async function migratedDatabase(t: { teardown(fn: () => unknown): void }, kind: 'sqlite' | 'mysql'): Promise<Knex> {
  const database = await createTestDatabase(kind);
  const knex = createKnex(database.url);
  t.teardown(async () => {
    await knex.destroy();
    await database.drop();
  });
  await knex.migrate.latest();
  return knex;
}
