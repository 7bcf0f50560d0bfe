import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { promisify } from 'node:util';
import test from 'ava';
import { knexConfigFromUrl } from '../../src/db/knex.js';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';
import { logInThroughProcess } from '../helpers/process-login.js';
import { startServerProcess } from '../helpers/process-server.js';
import { startSmsReceiver } from '../helpers/sms-receiver.js';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// One build for the whole file: `npm run build` exactly as the README and the Dockerfile run it.
test.before(async () => {
  await run(npm, ['run', '--silent', 'build'], { cwd: root, timeout: 180_000 });
});

/** The knex CLI on the compiled knexfile, with plain node: no TypeScript tooling involved. */
function knexBuilt(databaseUrl: string, command: string) {
  return run(process.execPath, [path.join(root, 'node_modules/knex/bin/cli.js'), '--knexfile', 'dist/db/knexfile.js', command], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: node dist/main.js serves pages, static files and a whole login (migrations from the build)`, async (t) => {
    const database = await createTestDatabase(kind);
    t.teardown(() => database.drop());
    if (kind === 'mysql') {
      // Production databases are migrated by the operator: here with the compiled knexfile.
      const migrated = await knexBuilt(database.url, 'migrate:latest');
      t.regex(migrated.stdout, /Batch 1 run: \d+ migrations/);
    }
    // SQLite migrates itself on start, from dist/migrations.
    const sms = await startSmsReceiver(t);
    const server = await startServerProcess({ DATABASE_URL: database.url, LOGIN_CONFIRM: 'off', ...sms.env }, [], 'dist/main.js');
    t.teardown(() => server.stop());

    t.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
    t.is((await fetch(`${server.url}/readyz`)).status, 200);
    t.is((await fetch(`${server.url}/metrics`)).status, 200);
    const css = await fetch(`${server.url}/static/css/app.css`);
    t.is(css.status, 200, 'static/ is found from dist/');
    t.regex(css.headers.get('content-type') ?? '', /text\/css/);

    const browser = await logInThroughProcess({ baseUrl: server.url, sms, openid: 'o_built', phone: '13800138123' });
    const profile = await browser.get('/profile');
    t.is(profile.status, 200);
    t.regex(await profile.text(), /138\*\*\*\*8123/, 'views/ is found from dist/');
    const me = (await (await browser.get('/api/me')).json()) as { openid: string; phone: string; logins: unknown[] };
    t.like(me, { openid: 'o_built', phone: '13800138123' });
    t.is(me.logins.length, 1);

    // The compiled knexfile and the TypeScript one name the migrations alike: nothing is pending, nothing "missing".
    const status = await knexBuilt(database.url, 'migrate:status');
    t.regex(status.stdout, /No Pending Migration files Found/);
  });
}

/**
 * A copy of the build in a folder of its own, with its own `.env`: the root of a deployment.
 * node_modules is linked, so the copy loads the same packages.
 */
function deployedCopy(t: { teardown(fn: () => unknown): void }, dotenv: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'wechat-login-deploy-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  cpSync(path.join(root, 'dist'), path.join(folder, 'dist'), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(folder, 'node_modules'));
  writeFileSync(path.join(folder, '.env'), dotenv);
  return folder;
}

/** `npm run migrate:built` in a deployment, from another folder, with nothing in the environment but the .env. */
function migrateBuiltIn(folder: string) {
  const { DATABASE_URL: _ignored, ...env } = process.env;
  return run(process.execPath, [path.join(root, 'node_modules/knex/bin/cli.js'), '--knexfile', path.join(folder, 'dist/db/knexfile.js'), 'migrate:latest'], {
    cwd: os.tmpdir(),
    env,
  });
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test.serial : test.serial.skip;

  declare(`${kind}: migrate:built reads the root's .env, as the server does`, async (t) => {
    const database = await createTestDatabase(kind);
    t.teardown(() => database.drop());
    // A relative SQLite path in .env means the deployment's root, never dist/db.
    const url = kind === 'sqlite' ? 'sqlite:./data/from-dotenv.sqlite3' : database.url;
    const folder = deployedCopy(t, `# the operator's settings\n\nDATABASE_URL=${url}\n`);

    // Before: migrate:status names what is pending (it printed "undefined" for each).
    const status = await run(process.execPath, [path.join(root, 'node_modules/knex/bin/cli.js'), '--knexfile', path.join(folder, 'dist/db/knexfile.js'), 'migrate:status'], {
      cwd: os.tmpdir(),
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL')),
    });
    t.regex(status.stdout, /20261121000001_create_users\.ts/);
    t.notRegex(status.stdout, /undefined/);
    const migrated = await migrateBuiltIn(folder);
    t.regex(migrated.stdout, /Batch 1 run: \d+ migrations/);
    t.false(existsSync(path.join(folder, 'dist/db/data')), 'nothing is migrated under dist/db');
    const opened = kind === 'sqlite' ? `sqlite:${path.join(folder, 'data/from-dotenv.sqlite3')}` : database.url;
    const knex = knexFactory(knexConfigFromUrl(opened));
    t.teardown(() => knex.destroy());
    t.true(await knex.schema.hasTable('users'), 'the database named in .env has the tables');
  });
}

test('the build runs without TypeScript: dist/ holds only JavaScript and source maps', async (t) => {
  const { stdout } = await run('find', ['dist', '-type', 'f', '-not', '-name', '*.js', '-not', '-name', '*.js.map'], { cwd: root });
  t.is(stdout.trim(), '');
  const { stdout: main } = await run('grep', ['-c', 'tsx', 'dist/main.js'], { cwd: root }).catch((error) => error as { stdout: string });
  t.is(main.trim(), '0', 'dist/main.js does not load tsx');
});
