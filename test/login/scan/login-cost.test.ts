import test from 'ava';
import { databaseKinds } from '../../helpers/databases.js';
import { logInNewUser, openLoginPage, phoneFor, poll } from '../../helpers/login-flow.js';
import { plainScanLogin, startServer } from '../../helpers/server.js';

/**
 * What a returning user's scan-to-login sends the database, statement by
 * statement (BENCHMARKS.md, issue 32): the cost is in the round trips, so a
 * change that adds one shows here. The background jobs (the nonces' sweep, the
 * outbox's poll) are left out.
 */
for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: a returning user's scan to login is the nonce, the scan, the poll's lookup, the login and the device`, async (t) => {
    const server = await startServer(t, { database: kind, env: plainScanLogin });
    await logInNewUser(server, 'o_cost', '13800138077');
    const { browser, scene } = await openLoginPage(server);
    await server.handle.jobs.writeAfterLogins(); // the first login's browser, not counted
    const statements: string[] = [];
    // Each statement as its verb and the first table it names.
    const count = (query: { sql: string }) => {
      if (/^delete from .callback_nonces/i.test(query.sql)) return;
      const table = /(?<![\w.])`?(callback_nonces|login_scenes|users|user_sessions|known_devices)`?(?![\w.])/.exec(query.sql)?.[1];
      // The background jobs' statements (the outbox's poll each second, say) are not the login's.
      if (!table) return;
      statements.push(`${query.sql.split(' ')[0].toLowerCase()} ${table}`);
    };
    server.knex.on('query', count);
    await phoneFor(server).scan('o_cost', scene, 'ticket', true);
    const callback = statements.splice(0);
    const answer = await poll(browser, scene);
    // What follows the answer (its browser, the last login time) is written with the other logins of a window.
    await server.handle.jobs.writeAfterLogins();
    server.knex.off('query', count);
    t.is(answer.body.status, 'success');
    // On MySQL the scene's approval and the user's scan are one multi-table UPDATE; elsewhere the scene is read, approved, and the scan recorded.
    const claimAndRecord = kind === 'mysql' ? ['update login_scenes'] : ['select login_scenes', 'update login_scenes', 'update users'];
    t.deepEqual(callback, ['insert callback_nonces', ...claimAndRecord]);
    // The scene with its scanner and whether a login used it; the session, which is the login's history line; then, with other
    // logins', the id the browser came with (from the login page) forgotten, the new one remembered, and users.last_login_time.
    t.deepEqual(statements.sort(), ['delete known_devices', 'insert known_devices', 'insert user_sessions', 'select login_scenes', 'update users']);
  });
}
