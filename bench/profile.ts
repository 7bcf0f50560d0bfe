/**
 * Where the server's time goes under callback load: starts the server with
 * `--cpu-prof` (passed to node directly; it is refused in NODE_OPTIONS), sends
 * signed scans of returning users or newcomers, stops it, and prints the
 * self time grouped by package (or by file for our own code).
 *
 *   node --import tsx bench/profile.ts [returning|newcomer] [sqlite|mysql] [count]
 *
 * Any bench scenario can be profiled too: with BENCH_PROFILE_DIR set, every server the bench
 * starts writes its profile there; `node --import tsx bench/lib/profile-summary.ts FILE` summarizes one.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuMsOf, mariadbPid } from './lib/cpu.js';
import { inBatches, request } from './lib/http.js';
import { summarize } from './lib/profile-summary.js';
import { startOurServer, stop } from './lib/processes.js';
import { createBenchDatabase, createNewcomers, questions, recordedScenes, seedUsers, signedScanEvent } from './lib/setup.js';

async function main() {
  const [kind = 'newcomer', db = 'mysql', countArg = '4000'] = process.argv.slice(2);
  const count = Number(countArg);
  const database = await createBenchDatabase(db as 'sqlite' | 'mysql');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wl-prof-'));
  try {
    const returning = await seedUsers(database.knex, 1000);
    const server = await startOurServer(database.url, {}, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    const scenes = await recordedScenes(database.knex, count);
    const openids = kind === 'newcomer' ? await createNewcomers(server.url, count, `prof${Date.now()}`) : returning;
    const base = Math.floor(Date.now() / 1000);
    const questionsBefore = db === 'mysql' ? await questions(database.knex) : 0;
    const mariadb = db === 'mysql' ? mariadbPid() : undefined;
    const cpuBefore = { server: cpuMsOf(server.child.pid!), mariadb: mariadb ? cpuMsOf(mariadb) : 0, client: process.cpuUsage() };
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const started = performance.now();
    await inBatches(Array.from({ length: count }), 64, async (_, i) => {
      const push = signedScanEvent(server.url, kind === 'newcomer' ? 'subscribe' : 'SCAN', openids[i % openids.length], scenes[i], base + i);
      const reply = await request(push.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });
      if (reply.status !== 200) throw new Error(`callback answered ${reply.status}`);
    });
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const clientCpu = process.cpuUsage(cpuBefore.client);
    const perEvent = (ms: number) => `${((ms / count) * 1000).toFixed(0)} µs`;
    console.log(
      `CPU per callback: server ${perEvent(cpuMsOf(server.child.pid!) - cpuBefore.server)}` +
        (mariadb ? `, MariaDB ${perEvent(cpuMsOf(mariadb) - cpuBefore.mariadb)}` : '') +
        `, bench client ${perEvent((clientCpu.user + clientCpu.system) / 1000)}`,
    );
    console.log(`${kind} on ${db}: ${(count / ((performance.now() - started) / 1000)).toFixed(0)} events/s (while profiled)`);
    // MariaDB's Questions counter: every statement any client sent (the bench's own SHOW STATUS included).
    if (db === 'mysql') console.log(`statements per callback: ${((await questions(database.knex)) - questionsBefore - 1) / count}`);
    await stop(server);
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))!;
    console.log(`profile: ${path.join(dir, file)}`);
    for (const line of summarize(path.join(dir, file), fromUs, toUs)) console.log(line);
  } finally {
    await database.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
