import test from 'ava';
import { runAdmin } from '../../src/admin/cli.js';
import { createAdminQueries } from '../../src/db/admin-queries.js';
import { BrowserClient, csrfOf } from '../helpers/browser-client.js';
import { createPersona } from '../helpers/confirm-flow.js';
import { confirmOnPhone, plainLogin } from '../helpers/console-flow.js';
import { databaseKinds } from '../helpers/databases.js';
import { openLoginPage, phoneFor, poll } from '../helpers/login-flow.js';
import { plainScanLogin, startServer } from '../helpers/server.js';
import { createTestClock, type TestClock } from '../helpers/test-clock.js';

const io = { out: () => undefined, err: () => undefined };

async function consoleSetup(t: Parameters<typeof startServer>[0], kind: 'sqlite' | 'mysql' = 'sqlite', clock: TestClock = createTestClock()) {
  const server = await startServer(t, { database: kind, clock: clock.now, env: { ...plainScanLogin, SMS_PRICE_CNY: '0.05' } });
  const adminOpenid = await createPersona(server, 'Operator');
  const browser = await plainLogin(server, adminOpenid, '13800138201');
  if ((await runAdmin(['grant-admin', '13800138201'], createAdminQueries(server.knex), io)) !== 0) throw new Error('grant-admin failed');
  return { server, browser, adminOpenid, clock };
}

for (const { kind, enabled } of databaseKinds) {
  (enabled ? test : test.skip)(`${kind}: /admin: signed out → log in; not an admin → 404; an admin → a login confirmed on the phone first, then the dashboard; 15 minutes later, again`, async (t) => {
    const { server, browser, adminOpenid, clock } = await consoleSetup(t, kind);
    const stranger = new BrowserClient(server.url);
    const signedOut = await stranger.get('/admin');
    t.is(signedOut.status, 303);
    t.is(signedOut.headers.get('location'), '/login?fresh=1&confirm=1&next=%2Fadmin', 'to log in, with the confirmation the console needs');

    const someone = await plainLogin(server, await createPersona(server, 'Someone'), '13800138202');
    t.is((await someone.get('/admin')).status, 404);
    t.is((await someone.get('/admin/users')).status, 404);

    // The admin's own login was a plain scan (LOGIN_CONFIRM=off): the console asks for a confirmed one.
    const unconfirmed = await browser.get('/admin');
    t.is(unconfirmed.status, 303);
    t.is(unconfirmed.headers.get('location'), '/login?fresh=1&confirm=1&next=%2Fadmin');
    const confirmed = await confirmOnPhone(server, browser, adminOpenid, unconfirmed.headers.get('location')!);
    t.deepEqual(confirmed, { status: 'success', redirect: '/admin' });
    const dashboard = await browser.get('/admin');
    t.is(dashboard.status, 200);
    const html = await dashboard.text();
    t.regex(html, /<figure class="chart" id="logins-by-hour">\s*<svg/);
    t.regex(html, /<rect [^>]*data-series="扫码"/, "the logins just made are drawn, named in the page's language");
    t.is(dashboard.headers.get('cache-control'), 'no-store');
    // Two people bound a phone: two SMS, at SMS_PRICE_CNY 0.05.
    t.regex(html, /<p id="sms-cost">这 14 天共发送短信 2 条，约 0\.10 元/);

    clock.advance(16 * 60 * 1000);
    const stale = await browser.get('/admin/users');
    t.is(stale.status, 303);
    t.is(stale.headers.get('location'), '/login?fresh=1&confirm=1&next=%2Fadmin%2Fusers');
  });
}

test('search by phone, openid or id; the user page; block, unbind and end sessions, each in the log with who and from where', async (t) => {
  const { server, browser, adminOpenid } = await consoleSetup(t);
  await confirmOnPhone(server, browser, adminOpenid, '/login?fresh=1&confirm=1&next=%2Fadmin');
  const targetOpenid = await createPersona(server, 'Target');
  const target = await plainLogin(server, targetOpenid, '13800138203');
  const user = await server.knex('users').where({ openid: targetOpenid }).first('id');
  const admin = await server.knex('users').where({ openid: adminOpenid }).first('id');

  for (const q of ['138 0013 8203', targetOpenid, String(user.id)]) {
    const found = await (await browser.get(`/admin/users?q=${encodeURIComponent(q)}`)).text();
    t.regex(found, new RegExp(`<a href="/admin/users/${user.id}">`), q);
  }
  t.regex(await (await browser.get('/admin/users?q=nobody')).text(), /id="no-results"/);
  const page = await (await browser.get(`/admin/users/${user.id}`)).text();
  t.regex(page, /id="user-logins"[\s\S]*127\.0\.0\.1/);
  t.is((await browser.get('/admin/users/999999')).status, 404);

  const csrf = csrfOf(page);
  t.is((await browser.postForm(`/admin/users/${user.id}/block`, {})).status, 403, 'no _csrf, no action');
  const blocked = await browser.postForm(`/admin/users/${user.id}/block`, { _csrf: csrf });
  t.is(blocked.status, 303);
  t.is(blocked.headers.get('location'), `/admin/users/${user.id}?done=block`);
  // Signed out at once, and no way in logs them in again.
  t.is((await target.get('/api/me')).status, 401);
  const { browser: again, scene } = await openLoginPage(server);
  const pending = poll(again, scene);
  await phoneFor(server).scan(targetOpenid, scene, 'ticket', true);
  t.is((await pending).body.status, 'denied');

  t.is((await browser.postForm(`/admin/users/${user.id}/unbind-phone`, { _csrf: csrf })).status, 303);
  t.is((await server.knex('users').where({ id: user.id }).first('phone')).phone, null);
  t.is((await browser.postForm(`/admin/users/${user.id}/unblock`, { _csrf: csrf })).status, 303);
  t.is((await browser.postForm(`/admin/users/${user.id}/end-sessions`, { _csrf: csrf })).status, 303);
  t.is((await browser.postForm(`/admin/users/${user.id}/explode`, { _csrf: csrf })).status, 404);

  const log = await server.knex('admin_actions').whereNotNull('admin_user_id').orderBy('id');
  t.deepEqual(
    log.map((row: { action: string; admin_user_id: number; target_user_id: number; ip: string }) => [row.action, row.admin_user_id, row.target_user_id, row.ip]),
    [
      ['block', admin.id, user.id, '127.0.0.1'],
      ['unbind-phone', admin.id, user.id, '127.0.0.1'],
      ['unblock', admin.id, user.id, '127.0.0.1'],
      ['end-sessions', admin.id, user.id, '127.0.0.1'],
    ],
  );
  t.is(log[1].detail, '13800138203');
  const logPage = await (await browser.get('/admin/log')).text();
  t.regex(logPage, /class="admin-table admin-log"[\s\S]*127\.0\.0\.1/);
  // A signed-in non-admin's action is not admitted to exist.
  const someone = await plainLogin(server, await createPersona(server, 'Someone'), '13800138205');
  const someoneCsrf = csrfOf(await (await someone.get('/profile')).text());
  t.is((await someone.postForm(`/admin/users/${admin.id}/block`, { _csrf: someoneCsrf })).status, 404);
});

test('npm run admin -- grant-admin takes a phone or an openid; revoke-admin takes the console away', async (t) => {
  const server = await startServer(t, { env: { ...plainScanLogin } });
  const openid = await createPersona(server, 'Granted');
  await plainLogin(server, openid, '13800138204');
  const queries = createAdminQueries(server.knex);
  t.is(await runAdmin(['grant-admin', openid], queries, io), 0);
  t.true(Boolean((await server.knex('users').where({ openid }).first('is_admin')).is_admin));
  t.is(await runAdmin(['revoke-admin', '--phone', '13800138204'], queries, io), 0);
  t.false(Boolean((await server.knex('users').where({ openid }).first('is_admin')).is_admin));
  t.is(await runAdmin(['grant-admin', 'o_nobody'], queries, io), 1);
  // Both changes are in the admin log, by the command line.
  const log = await server.knex('admin_actions').orderBy('id').select('action', 'actor', 'admin_user_id');
  t.deepEqual(log, [
    { action: 'grant-admin', actor: 'command line', admin_user_id: null },
    { action: 'revoke-admin', actor: 'command line', admin_user_id: null },
  ]);
});
