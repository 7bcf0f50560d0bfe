import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { runAdmin } from '../../src/admin/cli.js';
import { createAdminQueries } from '../../src/db/admin-queries.js';
import { createKnex } from '../../src/db/knex.js';
import { createUserSessionQueries } from '../../src/db/user-sessions.js';
import { createUserQueries } from '../../src/db/users.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { createSqliteDatabase, databaseKinds, migratedDatabase } from '../helpers/databases.js';
import { logInNewUser } from '../helpers/login-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { userIdentityOn } from '../helpers/user-identity.js';

const root = path.resolve(__dirname, '../..');
type T = { teardown(fn: () => unknown): void };

/** A migrated database with two users (one with a phone and two logins) and a mini-program user sharing a unionid. */
async function setup(t: T, kind: 'sqlite' | 'mysql') {
  const knex = await migratedDatabase(t, kind);
  const users = createUserQueries(knex);
  const sessions = createUserSessionQueries(knex);
  /** A browser login: its session's row is the history line. */
  const logIn = (login: { userId: number; method: string; ip: string; userAgent: string; scene?: string }, when: Date) =>
    sessions.insertSession(`token-${login.ip}`, { ...login, expiresAt: new Date(when.getTime() + 3_600_000) }, when);
  const at = new Date('2026-11-20T08:00:00.000Z');
  const identity = userIdentityOn(knex, () => at);
  await identity.recordFollow('o_alice', 'u_shared');
  const alice = (await users.findUserByOpenid('o_alice'))!;
  await users.bindPhoneIfEmpty(alice.id, '13800138000', undefined, at);
  await identity.recordMiniProgramUser('m_alice_mini', 'u_other');
  await identity.recordFollow('o_bob');
  await logIn({ userId: alice.id, method: 'qrcode', ip: '203.0.113.7', userAgent: 'Firefox', scene: 's1' }, at);
  await logIn({ userId: alice.id, method: 'oauth', ip: '203.0.113.8', userAgent: 'WeChat' }, new Date(at.getTime() + 60_000));
  const bob = (await users.findUserByOpenid('o_bob'))!;
  await logIn({ userId: bob.id, method: 'qrcode', ip: '198.51.100.1', userAgent: 'Chrome', scene: 's2' }, new Date(at.getTime() + 120_000));
  const queries = createAdminQueries(knex);
  const admin = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runAdmin(argv, queries, { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) });
    return { code, out, err };
  };
  return { knex, users, alice, bob, admin };
}

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: find-user by phone (in any common spelling), openid, unionid and id`, async (t) => {
    const { admin, alice } = await setup(t, kind);
    const byPhone = await admin('find-user', '--phone', '+86 138-0013-8000');
    t.is(byPhone.code, 0);
    t.regex(byPhone.out, new RegExp(`^user ${alice.id}\\n`));
    t.regex(byPhone.out, /openid: +o_alice/);
    t.regex(byPhone.out, /unionid: +u_shared/);
    t.regex(byPhone.out, /phone: +13800138000/);
    t.regex(byPhone.out, /follows: +yes/);

    const byOpenid = await admin('find-user', '--openid=o_alice', '--json');
    t.is(byOpenid.code, 0);
    t.like(JSON.parse(byOpenid.out), [{ id: alice.id, openid: 'o_alice', phone: '13800138000', unionid: 'u_shared' }]);
    t.like(JSON.parse((await admin('find-user', '--unionid', 'u_other', '--json')).out), [{ miniOpenid: 'm_alice_mini', openid: null }]);
    t.like(JSON.parse((await admin('find-user', '--id', String(alice.id), '--json')).out), [{ openid: 'o_alice' }]);
  });

  declare(`${kind}: unknown users get a clear message and exit code 1`, async (t) => {
    const { admin } = await setup(t, kind);
    t.deepEqual(await admin('find-user', '--phone', '13900139000'), { code: 1, out: '', err: 'no user with phone 13900139000\n' });
    t.deepEqual(await admin('find-user', '--openid', 'o_nobody'), { code: 1, out: '', err: 'no user with openid o_nobody\n' });
    t.deepEqual(await admin('unbind-phone', '--phone', '13900139000'), { code: 1, out: '', err: 'no user with phone 13900139000\n' });
    t.deepEqual(await admin('recent-logins', '--unionid', 'u_nobody'), { code: 1, out: '', err: 'no user with unionid u_nobody\n' });
  });

  declare(`${kind}: unbind-phone frees the number for someone else`, async (t) => {
    const { admin, users, alice, bob } = await setup(t, kind);
    const done = await admin('unbind-phone', '--phone', '13800138000');
    t.deepEqual(done, { code: 0, out: 'unbound phone 13800138000\n', err: '' });
    t.is((await users.findUserById(alice.id))!.phone, null);
    await users.bindPhoneIfEmpty(bob.id, '13800138000', undefined, new Date());
    t.is((await users.findUserById(bob.id))!.phone, '13800138000');
    t.is((await admin('unbind-phone', '--phone', '13800138000')).code, 0);
    t.is((await admin('unbind-phone', '--phone', '13800138000')).code, 1, 'a second time there is nothing to unbind');
  });

  declare(`${kind}: recent-logins lists the newest first, for everyone or one user, with a limit`, async (t) => {
    const { admin, alice, bob } = await setup(t, kind);
    const all = await admin('recent-logins');
    t.is(all.code, 0);
    const lines = all.out.trim().split('\n');
    t.is(lines.length, 3);
    t.deepEqual(lines[0].split('\t'), ['2026-11-20T08:02:00.000Z', `user ${bob.id}`, '-', 'qrcode', '198.51.100.1', 'Chrome']);
    t.deepEqual(lines[2].split('\t'), ['2026-11-20T08:00:00.000Z', `user ${alice.id}`, '13800138000', 'qrcode', '203.0.113.7', 'Firefox']);
    const alices = JSON.parse((await admin('recent-logins', '--phone', '13800138000', '--json')).out) as { method: string }[];
    t.deepEqual(alices.map((login) => login.method), ['oauth', 'qrcode']);
    t.is((await admin('recent-logins', '--limit', '1')).out.trim().split('\n').length, 1);
  });
}

test('usage mistakes exit 2 with the help; --help exits 0', async (t) => {
  const database = createSqliteDatabase();
  const knex = createKnex(database.url);
  t.teardown(async () => {
    await knex.destroy();
    await database.drop();
  });
  const queries = createAdminQueries(knex);
  const admin = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runAdmin(argv, queries, { out: (text) => (out += text), err: (text) => (err += text) });
    return { code, out, err };
  };
  const help = await admin('--help');
  t.is(help.code, 0);
  t.regex(help.out, /find-user/);
  t.regex(help.out, /unbind-phone/);
  t.regex(help.out, /recent-logins/);
  for (const [argv, message] of [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['find-user'], /say which user/],
    [['find-user', '--phone'], /--phone needs a value/],
    [['find-user', '--phone', '12345'], /"12345" is not a mainland mobile number/],
    [['find-user', '--phone', '13800138000', '--openid', 'o'], /only one of/],
    [['recent-logins', '--limit', '0'], /--limit must be a whole number from 1 to 1000/],
    [['find-user', '--id', 'x'], /--id must be a whole number/],
    [['find-user', '--verbose'], /unknown option --verbose/],
  ] as const) {
    const answer = await admin(...argv);
    t.is(answer.code, 2, argv.join(' '));
    t.regex(answer.err, message);
    t.regex(answer.err, /Usage: npm run admin/);
  }
  // An unmigrated database says what to do.
  const unmigrated = await admin('find-user', '--openid', 'o_x');
  t.is(unmigrated.code, 1);
  t.regex(unmigrated.err, /not migrated: run npm run migrate/);
});

test('npm run admin runs the tool on DATABASE_URL', async (t) => {
  const database = createSqliteDatabase();
  t.teardown(() => database.drop());
  const knex = createKnex(database.url);
  await knex.migrate.latest();
  await userIdentityOn(knex).recordFollow('o_cli');
  await knex.destroy();
  const run = promisify(execFile);
  const env = { ...process.env, DATABASE_URL: database.url };
  const found = await run('npm', ['run', '--silent', 'admin', '--', 'find-user', '--openid', 'o_cli'], { cwd: root, env });
  t.regex(found.stdout, /openid: +o_cli/);
  const missing = await run('npm', ['run', '--silent', 'admin', '--', 'find-user', '--openid', 'o_none'], { cwd: root, env }).catch((error) => error);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no user with openid o_none/);
});

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: end-sessions signs the user out everywhere at once, and only that user`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    const alice = await logInNewUser(server, 'o_admin_alice', '13800138011');
    const aliceCopy = new BrowserClient(server.url);
    aliceCopy.setCookies(alice.cookieHeader());
    const bob = await logInNewUser(server, 'o_admin_bob', '13800138012');
    let out = '';
    const code = await runAdmin(['end-sessions', '--phone', '13800138011'], createAdminQueries(server.knex), {
      out: (text) => (out += text),
      err: () => undefined,
    });
    t.is(code, 0);
    t.is(out, 'ended 1 session(s) and 0 mini-program token(s)');
    t.is((await alice.get('/api/me')).status, 401);
    t.is((await aliceCopy.get('/api/me')).status, 401);
    t.is((await bob.get('/api/me')).status, 200);
    const unknown = await runAdmin(['end-sessions', '--openid', 'o_nobody'], createAdminQueries(server.knex), { out: () => undefined, err: () => undefined });
    t.is(unknown, 1);
  });
}

test('npm run admin lists the OpenID clients and rotates the signing key that the running server publishes', async (t) => {
  const server = await startServer(t, { env: plainScanLogin });
  const jwks = async () => ((await (await fetch(`${server.url}/oidc/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
  const [before] = await jwks();
  const run = promisify(execFile);
  // The process reads the server's configuration: the same database and SESSION_KEYS.
  const env = { ...process.env, DATABASE_URL: server.config.databaseUrl, SESSION_KEYS: server.config.sessionKeys.join(','), PUBLIC_URL: server.url };
  const clients = await run('npm', ['run', '--silent', 'admin', '--', 'oidc-clients', '--json'], { cwd: root, env });
  const listed = JSON.parse(clients.stdout) as { client_id: string; client_secret?: string }[];
  t.deepEqual(listed.map((client) => client.client_id), ['demo-app']);
  t.false(clients.stdout.includes('secret'), 'no secret is printed');
  const rotated = await run('npm', ['run', '--silent', 'admin', '--', 'rotate-oidc-keys'], { cwd: root, env });
  t.regex(rotated.stdout, new RegExp(`^new signing key \\S+; ${before} stays published; restart every instance`));
  const rows = await server.knex('oidc_signing_keys').count({ n: '*' }).first();
  t.is(Number(rows!.n), 2);
});
