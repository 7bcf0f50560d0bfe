import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { createTestDatabase, databaseKinds } from '../helpers/databases.js';
import { logInThroughProcess } from '../helpers/process-login.js';
import { startServerProcess } from '../helpers/process-server.js';

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
    const server = await startServerProcess({ DATABASE_URL: database.url, LOGIN_CONFIRM: 'off' }, [], 'dist/main.js');
    t.teardown(() => server.stop());

    t.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
    t.is((await fetch(`${server.url}/readyz`)).status, 200);
    t.is((await fetch(`${server.url}/metrics`)).status, 200);
    const css = await fetch(`${server.url}/static/css/app.css`);
    t.is(css.status, 200, 'static/ is found from dist/');
    t.regex(css.headers.get('content-type') ?? '', /text\/css/);

    const browser = await logInThroughProcess({ baseUrl: server.url, output: server.output, openid: 'o_built', phone: '13800138123' });
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

test('the build runs without TypeScript: dist/ holds only JavaScript and source maps', async (t) => {
  const { stdout } = await run('find', ['dist', '-type', 'f', '-not', '-name', '*.js', '-not', '-name', '*.js.map'], { cwd: root });
  t.is(stdout.trim(), '');
  const { stdout: main } = await run('grep', ['-c', 'tsx', 'dist/main.js'], { cwd: root }).catch((error) => error as { stdout: string });
  t.is(main.trim(), '0', 'dist/main.js does not load tsx');
});
