/**
 * Where the server's time goes under callback load: starts the server with
 * `--cpu-prof` (passed to node directly; it is refused in NODE_OPTIONS), sends
 * signed scans of returning users or newcomers, stops it, and prints the
 * self time grouped by package (or by file for our own code).
 *
 *   node --import tsx bench/profile.ts [returning|newcomer] [sqlite|mysql] [count]
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSceneIssuer } from '../src/login/scenes.js';
import { deriveKeys } from '../src/security/keys.js';
import { inBatches, request } from './lib/http.js';
import { startOurServer, stop } from './lib/processes.js';
import { createBenchDatabase, createNewcomers, questions, seedUsers, sessionKey, signedScanEvent } from './lib/setup.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/**
 * Self time per group (`node_modules/<package>`, `src/<file>`, GC, node internals), counting only the
 * samples taken between `fromUs` and `toUs`: the profile's clock is CLOCK_MONOTONIC, as is
 * process.hrtime here, so the set-up (personas, seeding) stays out of the figures.
 */
function summarize(file: string, fromUs: number, toUs: number, top = 25): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index];
    if (at >= fromUs && at <= toUs) selfMs.set(id, (selfMs.get(id) ?? 0) + profile.timeDeltas[index] / 1000);
  });
  const groups = new Map<string, number>();
  let total = 0;
  for (const [id, time] of selfMs) {
    const { url, functionName } = byId.get(id)!.callFrame;
    const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
    const group = functionName === '(idle)' ? '(idle)' : pkg ? pkg : url.includes('/src/') ? `src/${url.split('/src/')[1]}` : url.startsWith('node:') ? url : `(${functionName || 'program'})`;
    groups.set(group, (groups.get(group) ?? 0) + time);
    total += time;
  }
  const busy = total - (groups.get('(idle)') ?? 0);
  return [
    `total ${total.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (${((busy / total) * 100).toFixed(0)} %)`,
    ...[...groups]
      .filter(([group]) => group !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([group, time]) => `${((time / busy) * 100).toFixed(1).padStart(5)} %  ${time.toFixed(0).padStart(6)} ms  ${group}`),
  ];
}

async function main() {
  const [kind = 'newcomer', db = 'mysql', countArg = '4000'] = process.argv.slice(2);
  const count = Number(countArg);
  const database = await createBenchDatabase(db as 'sqlite' | 'mysql');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wl-prof-'));
  try {
    const returning = await seedUsers(database.knex, 1000);
    const server = await startOurServer(database.url, {}, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    const issuer = createSceneIssuer(deriveKeys([sessionKey]).scene);
    const openids = kind === 'newcomer' ? await createNewcomers(server.url, count, `prof${Date.now()}`) : returning;
    const base = Math.floor(Date.now() / 1000);
    const questionsBefore = db === 'mysql' ? await questions(database.knex) : 0;
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const started = performance.now();
    await inBatches(Array.from({ length: count }), 64, async (_, i) => {
      const push = signedScanEvent(server.url, kind === 'newcomer' ? 'subscribe' : 'SCAN', openids[i % openids.length], issuer.issueScene(Date.now() + 3_600_000), base + i);
      const reply = await request(push.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });
      if (reply.status !== 200) throw new Error(`callback answered ${reply.status}`);
    });
    const toUs = Number(process.hrtime.bigint() / 1000n);
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
