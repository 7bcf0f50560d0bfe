import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './http.js';

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
