import { readdirSync, readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import { sleep } from './http.js';
import { questions } from './setup.js';

/** CPU time (ms) a process has used so far, from /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The MariaDB server's pid, when it runs on this machine. */
export function mariadbPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'mariadbd') return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/**
 * Waits until the server and MariaDB together use less than `busyShare` of one core over a
 * second (at most `maxMs`), so that whatever the set-up (thousands of pages, seeded users) left
 * them to do is not measured as the first seconds of a latency scenario. Returns how long it waited.
 */
export async function waitUntilIdle(serverPid: number, busyShare = 0.15, maxMs = 30_000): Promise<number> {
  const pids = [serverPid, mariadbPid()].filter((pid): pid is number => pid !== undefined);
  const used = () => pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  const started = Date.now();
  for (;;) {
    const before = used();
    await sleep(1000);
    if (used() - before < busyShare * 1000 || Date.now() - started > maxMs) return Date.now() - started;
  }
}

/** What a stretch of work cost: the server's and MariaDB's CPU, and the statements MariaDB was sent. */
export interface Cost {
  wallMs: number;
  serverCpuMs: number;
  /** Undefined on SQLite. */
  mariadbCpuMs?: number;
  statements?: number;
}

/**
 * Starts measuring what the work from now on costs; `stop()` returns it. The statements are
 * MariaDB's global Questions counter, so nothing else may use MariaDB meanwhile
 * (the two SHOW STATUS statements are taken off).
 */
export async function startCostMeter(database: { kind: string; knex: Knex }, serverPid: number): Promise<{ stop: () => Promise<Cost> }> {
  const onMysql = database.kind === 'mysql';
  const mariadb = onMysql ? mariadbPid() : undefined;
  const startedAt = performance.now();
  const server = cpuMsOf(serverPid);
  const mariadbCpu = mariadb ? cpuMsOf(mariadb) : 0;
  const statements = onMysql ? await questions(database.knex) : 0;
  return {
    async stop() {
      printProfileWindow(startedAt, serverPid);
      return {
        wallMs: performance.now() - startedAt,
        serverCpuMs: cpuMsOf(serverPid) - server,
        mariadbCpuMs: mariadb ? cpuMsOf(mariadb) - mariadbCpu : undefined,
        statements: onMysql ? (await questions(database.knex)) - statements - 2 : undefined,
      };
    },
  };
}

/**
 * With BENCH_PROFILE_DIR set: the window from `fromPerfNow` until now on the profile's clock
 * (CLOCK_MONOTONIC, µs), for `bench/lib/profile-summary.ts`, so that the set-up stays out of the figures.
 */
export function printProfileWindow(fromPerfNow: number, serverPid: number, toPerfNow = performance.now(), name = ''): void {
  if (!process.env.BENCH_PROFILE_DIR) return;
  const nowUs = Number(process.hrtime.bigint() / 1000n);
  const usOf = (perfNow: number) => Math.round(nowUs - (performance.now() - perfNow) * 1000);
  process.stderr.write(`  profile window${name ? ` (${name})` : ''} (µs): ${usOf(fromPerfNow)} ${usOf(toPerfNow)} pid ${serverPid}\n`);
}
