import { readFileSync } from 'node:fs';

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
export function summarize(file: string, fromUs: number, toUs: number, top = 25): string[] {
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

if (require.main === module) {
  // Optional window in µs of CLOCK_MONOTONIC (a scenario prints it when BENCH_PROFILE_DIR is set).
  const [file, top, from, to] = process.argv.slice(2);
  for (const line of summarize(file, Number(from ?? 0), Number(to ?? Number.MAX_SAFE_INTEGER), Number(top ?? 25))) console.log(line);
}
