/**
 * `npm run bench`: real server processes on loopback, on SQLite and on
 * MariaDB, driven by this process. Prints one table; writes nothing.
 *
 *   npm run bench                 everything, on every reachable database
 *   npm run bench -- --db mysql   one database
 *   npm run bench -- --quick      smaller numbers, for a smoke run
 *   npm run bench -- --only "held polls,leak check"
 *   npm run bench -- --only "mixed scans" --db mysql [--scans-per-second 50]
 *   npm run bench -- --only "restart and poll wave" --db mysql
 */
import os from 'node:os';
import knexFactory from 'knex';
import { callbackThroughput, heldPolls, leakCheck, mixedScans, restartAndWave, scanToLogin, type Row, type Sizes } from './scenarios.js';
import { createBenchDatabase } from './lib/setup.js';

const full: Sizes = { heldPolls: 10_000, scanPolls: 5_000, scans: 1_000, scansPerSecond: 200, idleWindowMs: 60_000, callbacks: 15_000, newcomerCallbacks: 6_000, leakPolls: 100_000, mixedPolls: 2_000, mixedSeconds: 30, warmUpSeconds: 5, wavePolls: 3_000, waveScansPerSecond: 50, waveSeconds: 35, wavePollTimeoutMs: 25_000 };
const quick: Sizes = { heldPolls: 1_000, scanPolls: 500, scans: 100, scansPerSecond: 100, idleWindowMs: 10_000, callbacks: 2_000, newcomerCallbacks: 1_000, leakPolls: 10_000, mixedPolls: 500, mixedSeconds: 10, warmUpSeconds: 2, wavePolls: 500, waveScansPerSecond: 20, waveSeconds: 14, wavePollTimeoutMs: 10_000 };

async function mysqlReachable(): Promise<boolean> {
  const admin = knexFactory({ client: 'mysql2', connection: process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306', pool: { min: 0, max: 1 } });
  try {
    await admin.raw('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await admin.destroy();
  }
}

function printTable(rows: Row[]): void {
  const headers = ['scenario', 'db', 'figure', 'value', 'target'] as const;
  const widths = headers.map((header) => Math.max(header.length, ...rows.map((row) => row[header].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, index) => cell.padEnd(widths[index])).join(' | ')} |`;
  console.log(line([...headers]));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(headers.map((header) => row[header])));
}

async function main() {
  const args = process.argv.slice(2);
  const rateArg = args.includes('--scans-per-second') ? Number(args[args.indexOf('--scans-per-second') + 1]) : undefined;
  // --scans-per-second N: the scan rate of "scan to login" and "mixed scans", to see the latency below saturation.
  const sizes = { ...(args.includes('--quick') ? quick : full), ...(rateArg ? { scansPerSecond: rateArg } : {}) };
  const dbArg = args[args.indexOf('--db') + 1];
  const wanted = args.includes('--db') ? dbArg.split(',') : ['sqlite', 'mysql'];
  const onlyArg = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
  const scenarios = ['held polls', 'scan to login', 'mixed scans', 'restart and poll wave', 'callback throughput', 'leak check'].filter((name) => !onlyArg || onlyArg.includes(name));
  const kinds = wanted.filter((kind) => kind === 'sqlite' || kind === 'mysql') as ('sqlite' | 'mysql')[];
  if (kinds.includes('mysql') && !(await mysqlReachable())) {
    console.log('MariaDB/MySQL unreachable: its rows are skipped');
    kinds.splice(kinds.indexOf('mysql'), 1);
  }
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  const rows: Row[] = [];
  for (const kind of kinds) {
    for (const scenario of scenarios) {
      process.stderr.write(`… ${scenario} on ${kind}\n`);
      const database = await createBenchDatabase(kind);
      try {
        let found: Row[] = [];
        if (scenario === 'held polls') found = await heldPolls(database, sizes);
        if (scenario === 'scan to login') found = await scanToLogin(database, sizes);
        if (scenario === 'mixed scans') {
          found = await mixedScans(database, sizes, true);
          found.push(...(await mixedScans(database, sizes, false)));
        }
        // co-wechat is measured in each run, beside ours, so that the ratio compares like with like.
        if (scenario === 'callback throughput') found = await callbackThroughput(database, sizes);
        if (scenario === 'restart and poll wave') found = await restartAndWave(database, sizes);
        if (scenario === 'leak check') found = await leakCheck(database, sizes);
        rows.push(...found);
        // Each figure as soon as it is known, so that a failure later does not lose it.
        for (const row of found) process.stderr.write(`  ${row.figure}: ${row.value}${row.target ? ` (target ${row.target})` : ''}\n`);
      } finally {
        await database.drop();
      }
    }
  }
  printTable(rows);
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
