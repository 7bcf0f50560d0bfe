/**
 * What each part of a returning user's scan-to-login costs, measured part by
 * part in this process on a real database: the server's CPU (µs, from
 * process.cpuUsage, so waiting on the database is not counted), MariaDB's CPU
 * and the statements each part sends. Every part runs `count` times one after
 * another, after a warm-up of a tenth of that, on its own fresh inputs.
 *
 *   node --import tsx bench/parts.ts [mysql|sqlite] [count]
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { createDatabaseNonceStore } from '../src/db/callback-nonces.js';
import { createKnownDeviceQueries } from '../src/db/known-devices.js';
import { createLoginHistoryQueries } from '../src/db/login-history.js';
import { createLoginSceneQueries } from '../src/db/login-scenes.js';
import { inTransaction } from '../src/db/transaction.js';
import { createUserQueries, type User } from '../src/db/users.js';
import { createUserSessionQueries } from '../src/db/user-sessions.js';
import { createLoginHub } from '../src/login/scan/login-hub.js';
import { createSceneStates } from '../src/login/scan/scene-states.js';
import { describeDevice } from '../src/login/session/device-description.js';
import { createLoginRecord } from '../src/login/session/login-record.js';
import { createSessionStore } from '../src/login/session/session-store.js';
import { wechatTexts } from '../src/messages/wechat-texts.js';
import { createCallbackCodec } from '../src/wechat/callback-codec.js';
import { createReplayGuard } from '../src/wechat/replay-guard.js';
import { buildEventXml, buildSignedPush } from '../src/wechat/signed-push.js';
import { cpuMsOf, mariadbPid } from './lib/cpu.js';
import { createBenchDatabase, recordedScenes, seedUsers } from './lib/setup.js';

const userAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

async function main() {
  const [db = 'mysql', countArg = '2000'] = process.argv.slice(2);
  const count = Number(countArg);
  const warmup = Math.ceil(count / 10);
  const total = count + warmup;
  const database = await createBenchDatabase(db as 'sqlite' | 'mysql');
  const { knex } = database;
  let statements = 0;
  knex.on('query', () => (statements += 1));
  const mariadb = db === 'mysql' ? mariadbPid() : undefined;
  try {
    const openids = await seedUsers(knex, total);
    const users = createUserQueries(knex);
    const byOpenid = await users.findUsersByOpenids(openids);
    const people = openids.map((openid) => byOpenid.get(openid)!) as User[];
    const scenes = await recordedScenes(knex, total);
    const loginScenes = createLoginSceneQueries(knex);
    const sceneStates = createSceneStates({ scenes: loginScenes, confirmation: { approvedAtOnce: 'any device', needsConfirmation: async () => false, askToConfirm: async () => ({ kind: 'refused' }) } });
    const codec = createCallbackCodec({ token: 'dev-token', appId: '', timestampToleranceSeconds: 0 });
    const guard = createReplayGuard({ store: createDatabaseNonceStore(knex), toleranceSeconds: 300 });
    const hub = createLoginHub();
    const sessions = createSessionStore({ queries: createUserSessionQueries(knex), devices: createKnownDeviceQueries(knex), idleTimeoutSeconds: 86_400, maxLifetimeSeconds: 604_800 });
    const loginRecord = createLoginRecord({ loginHistory: createLoginHistoryQueries(knex), transaction: (work) => inTransaction(knex, work) });
    const devices = createKnownDeviceQueries(knex);
    const sessionIds: number[] = [];
    // Logins in the 50 ms window of the writes after the answer (session/device-memory.ts) at 200 a second.
    const afterAnswerBatch = 10;
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const logger = pino({ level: 'info', redact: { paths: ['token', 'code', 'fields.token'], censor: '[redacted]' } }, sink);
    const base = Math.floor(Date.now() / 1000);
    const pushes = openids.map((openid, index) => {
      const xml = buildEventXml({ toUser: 'gh_bench', openid, createTime: base + index, event: 'SCAN', eventKey: scenes[index] });
      const signed = buildSignedPush(xml, { token: 'dev-token', appId: '', accountId: 'gh_bench', openid });
      return { query: Object.fromEntries(new URLSearchParams(signed.query)), body: signed.body };
    });

    const parts: [string, (index: number) => Promise<unknown>][] = [
      ['verify and parse (signature, XML)', (i) => codec.open(pushes[i].query, async () => pushes[i].body)],
      ['replay guard (the nonce claim)', (i) => guard.check(String(base + i), String(pushes[i].query.nonce), pushes[i].body)],
      ['scan record (approve the scene, record the scan: one UPDATE on MySQL, two elsewhere)', async (i) => {
        if (await sceneStates.approveUsualScan(openids[i], scenes[i])) return;
        await users.updateScan(openids[i], scenes[i], new Date());
        await loginScenes.markApproved(scenes[i], openids[i], Date.now());
      }],
      ['wake (the hub)', async (i) => {
        const subscription = hub.subscribe(scenes[i]);
        hub.publish(scenes[i]);
        await subscription.woken;
        subscription.cancel();
      }],
      ['poll answer (the scene and its scanner)', (i) => sceneStates.stateOf(scenes[i])],
      ['session (the login: one INSERT that is the history line, the session and the scene used)', async (i) => {
        const started = await loginRecord.recordLogin(people[i], 'qrcode', { ip: '127.0.0.1', userAgent }, (run) =>
          sessions.startSession({ userId: people[i].id, method: 'qrcode', ip: '127.0.0.1', userAgent, deviceHash: String(i).padStart(64, '0'), scene: scenes[i] }, run),
        );
        sessionIds[i] = started!.id;
      }],
      [`after the answer, ${afterAnswerBatch} logins a statement: device (the id it came with forgotten, the new one remembered) and last login`, async (i) => {
        if ((i + 1) % afterAnswerBatch !== 0) return;
        const batch = Array.from({ length: afterAnswerBatch }, (_, k) => i - k);
        await devices.forgetEachDevice(batch.map((k) => ({ userId: people[k].id, deviceHash: String(k).padStart(63, '0') + 'p' })));
        await devices.rememberDevicesOfSessions(batch.map((k) => sessionIds[k]), Date.now());
        await users.setLastLoginFromHistory(batch.map((k) => people[k].id));
      }],
      ['notice (its text; the custom/send call not included)', async (i) => wechatTexts.zh.notice(describeDevice(userAgent, '1.2.3.4'), new Date(), `https://login.example/sessions/end?t=${i}`)],
      ['logs (the login line and three access lines)', async (i) => {
        logger.info({ userId: i, method: 'qrcode', sessionId: i, ip: '127.0.0.1' }, 'login');
        for (const path of ['/wechat/callback', '/login/poll', '/profile']) logger.info({ method: 'GET', path, status: 200, ms: 1.2 }, 'request');
      }],
    ];
    console.log(`parts of a returning user's scan-to-login on ${db}, ${count} each (after ${warmup} of warm-up)`);
    console.log('| part | server CPU µs | MariaDB CPU µs | statements |');
    console.log('|---|---|---|---|');
    for (const [name, run] of parts) {
      for (let i = 0; i < warmup; i += 1) await run(i);
      const before = { cpu: process.cpuUsage(), mariadb: mariadb ? cpuMsOf(mariadb) : 0, statements };
      for (let i = warmup; i < total; i += 1) await run(i);
      const cpu = process.cpuUsage(before.cpu);
      const perCall = (micros: number) => (micros / count).toFixed(0);
      console.log(`| ${name} | ${perCall(cpu.user + cpu.system)} | ${mariadb ? perCall((cpuMsOf(mariadb) - before.mariadb) * 1000) : '–'} | ${((statements - before.statements) / count).toFixed(2)} |`);
    }
  } finally {
    await database.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
