import { createSceneIssuer } from '../src/login/scenes.js';
import { deriveKeys } from '../src/security/keys.js';
import { inBatches, percentile, request, sleep } from './lib/http.js';
import { startHelperServer, startOurServer, stop } from './lib/processes.js';
import {
  type BenchDatabase,
  openLoginSessions,
  pollUrl,
  questions,
  rssOf,
  seedUsers,
  serverStats,
  sessionKey,
  signedScan,
  wechatToken,
  type LoginSession,
} from './lib/setup.js';

export interface Row {
  scenario: string;
  db: string;
  figure: string;
  value: string;
  target: string;
}

export interface Sizes {
  heldPolls: number;
  scanPolls: number;
  scans: number;
  scansPerSecond: number;
  idleWindowMs: number;
  callbacks: number;
  leakPolls: number;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function waitForListeners(url: string, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await serverStats(url)).listeners < count) {
    if (Date.now() > deadline) {
      throw new Error(`only ${(await serverStats(url)).listeners} of ${count} polls held; failures: ${JSON.stringify([...pollFailures])}`);
    }
    await sleep(200);
  }
}

/** 1. Many long-polls held at once: memory per held poll and errors. */
export async function heldPolls(database: BenchDatabase, sizes: Sizes): Promise<Row[]> {
  const server = await startOurServer(database.url, { LOGIN_POLL_TIMEOUT_MS: '120000' });
  try {
    const sessions = await openLoginSessions(server.url, sizes.heldPolls);
    await serverStats(server.url); // a GC before measuring
    await sleep(500);
    const rssBefore = rssOf(server.child.pid!);
    let errors = 0;
    const polls = sessions.map((session) =>
      request(pollUrl(server.url, session.scene), { headers: { cookie: session.cookie } }).then(
        (reply) => {
          if (reply.status !== 200) errors += 1;
        },
        () => {
          errors += 1;
        },
      ),
    );
    await waitForListeners(server.url, sizes.heldPolls);
    await serverStats(server.url);
    const rssDuring = rssOf(server.child.pid!);
    const perPoll = (rssDuring - rssBefore) / sizes.heldPolls;
    await stop(server);
    await Promise.all(polls);
    const n = sizes.heldPolls.toLocaleString('en');
    return [
      { scenario: 'held polls', db: database.kind, figure: `server RSS before / during ${n} held`, value: `${mb(rssBefore)} / ${mb(rssDuring)}`, target: '' },
      { scenario: 'held polls', db: database.kind, figure: 'memory per held poll', value: `${(perPoll / 1024).toFixed(1)} KB`, target: '≤ 25 KB' },
      { scenario: 'held polls', db: database.kind, figure: 'errors', value: String(errors), target: '0' },
    ];
  } finally {
    await server.stop();
  }
}

interface Browser {
  session: LoginSession;
  answeredAt?: number;
  status?: string;
  /** Poll requests that failed and were retried after a back-off, as the script does. */
  errors?: number;
}

/** Why polls failed, for the report when too few are held. */
const pollFailures = new Map<string, number>();
const countFailure = (reason: string) => pollFailures.set(reason, (pollFailures.get(reason) ?? 0) + 1);

/** Keeps a browser polling like static/js/login.js: again after `pending`, and after a failure with a back-off. */
async function keepPolling(url: string, browser: Browser, stopped: () => boolean): Promise<void> {
  let failures = 0;
  while (!stopped()) {
    const reply = await request(pollUrl(url, browser.session.scene), { headers: { cookie: browser.session.cookie } }).catch(
      (error: NodeJS.ErrnoException) => void countFailure(error.code ?? error.message),
    );
    if (!reply || reply.status !== 200) {
      if (stopped()) return;
      if (reply) countFailure(`HTTP ${reply.status} ${reply.body.slice(0, 40)}`);
      browser.errors = (browser.errors ?? 0) + 1;
      failures += 1;
      await sleep(Math.min(1000 * failures, 5000));
      continue;
    }
    failures = 0;
    const status = (JSON.parse(reply.body) as { status: string }).status;
    if (status !== 'pending') {
      browser.answeredAt = performance.now();
      browser.status = status;
      return;
    }
  }
}

/** MySQL's Questions counter over an idle window (no scans), per waiting browser per minute. */
async function queriesPerBrowserPerMinute(database: BenchDatabase, browsers: number, windowMs: number): Promise<number> {
  const before = await questions(database.knex);
  await sleep(windowMs);
  // The two SHOW STATUS statements count as Questions too.
  return ((await questions(database.knex)) - before - 2) / browsers / (windowMs / 60_000);
}

/** Sends `count` signed SCAN callbacks at a steady rate; returns when each was sent. */
async function sendScans(url: string, openids: string[], scenes: string[], perSecond: number): Promise<number[]> {
  const sentAt: number[] = [];
  const gap = 1000 / perSecond;
  const start = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let index = 0; index < scenes.length; index += 1) {
    const due = start + index * gap;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const scan = signedScan(url, openids[index], scenes[index], Math.floor(Date.now() / 1000) + index);
    sentAt[index] = performance.now();
    sends.push(request(scan.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: scan.body }));
  }
  await Promise.all(sends);
  return sentAt;
}

function latencyRows(scenario: string, db: string, latencies: number[], target: string): Row[] {
  const sorted = [...latencies].sort((a, b) => a - b);
  return [
    { scenario, db, figure: `scan → answer p50 / p95 / p99 (${sorted.length} scans)`, value: `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 95))} / ${ms(percentile(sorted, 99))}`, target },
  ];
}

/** 2. Scan to login with many polls held, against the 1-second polling of the usual tutorials. */
export async function scanToLogin(database: BenchDatabase, sizes: Sizes): Promise<Row[]> {
  const rows: Row[] = [];
  const openids = await seedUsers(database.knex, sizes.scans);
  const server = await startOurServer(database.url);
  let stopped = false;
  try {
    const browsers: Browser[] = (await openLoginSessions(server.url, sizes.scanPolls)).map((session) => ({ session }));
    const polling = browsers.map((browser) => keepPolling(server.url, browser, () => stopped));
    await waitForListeners(server.url, sizes.scanPolls);

    if (database.kind === 'mysql') {
      const perMinute = await queriesPerBrowserPerMinute(database, sizes.scanPolls, sizes.idleWindowMs);
      rows.push({ scenario: 'scan to login', db: database.kind, figure: 'DB queries per waiting browser per minute (long-poll)', value: perMinute.toFixed(2), target: '≤ 3' });
    }

    const scanned = browsers.slice(0, sizes.scans);
    const sentAt = await sendScans(server.url, openids, scanned.map((browser) => browser.session.scene), sizes.scansPerSecond);
    const deadline = Date.now() + 30_000;
    while (scanned.some((browser) => browser.answeredAt === undefined) && Date.now() < deadline) await sleep(50);
    const latencies = scanned.filter((browser) => browser.answeredAt !== undefined).map((browser, index) => browser.answeredAt! - sentAt[index]);
    const failed = scanned.filter((browser) => browser.status !== 'success').length;
    rows.push(...latencyRows('scan to login', database.kind, latencies, 'p99 ≤ 25 ms'));
    rows.push({ scenario: 'scan to login', db: database.kind, figure: 'polls not answered success', value: String(failed), target: '0' });
    const retried = browsers.reduce((sum, browser) => sum + (browser.errors ?? 0), 0);
    rows.push({ scenario: 'scan to login', db: database.kind, figure: `poll requests that failed and were retried (${sizes.scanPolls.toLocaleString('en')} opened at once)`, value: String(retried), target: '' });
    stopped = true;
    await stop(server);
    await Promise.all(polling);
  } finally {
    stopped = true;
    await server.stop();
  }
  rows.push(...(await tutorialBaseline(database, openids, sizes)));
  return rows;
}

/** The tutorial design: each browser asks a plain status endpoint every second. */
async function tutorialBaseline(database: BenchDatabase, openids: string[], sizes: Sizes): Promise<Row[]> {
  const rows: Row[] = [];
  const issuer = createSceneIssuer(deriveKeys([sessionKey]).scene);
  const ours = await startOurServer(database.url); // only to process the callbacks
  const baseline = await startHelperServer('baseline-status-server.ts', { DATABASE_URL: database.url });
  let stopped = false;
  try {
    const scenes = Array.from({ length: sizes.scanPolls }, () => issuer.issueScene(Date.now() + 3_600_000));
    const answeredAt: (number | undefined)[] = new Array(scenes.length);
    const polling = scenes.map(async (scene, index) => {
      await sleep(Math.random() * 1000); // browsers open the page at different moments
      while (!stopped && answeredAt[index] === undefined) {
        const reply = await request(`${baseline.url}/status?scene=${scene}`).catch(() => undefined);
        if (reply && JSON.parse(reply.body).status !== 'pending') answeredAt[index] = performance.now();
        else await sleep(1000);
      }
    });
    await sleep(1500);
    if (database.kind === 'mysql') {
      const perMinute = await queriesPerBrowserPerMinute(database, sizes.scanPolls, sizes.idleWindowMs);
      rows.push({ scenario: 'baseline: 1 s polling', db: database.kind, figure: 'DB queries per waiting browser per minute', value: perMinute.toFixed(2), target: '(≈ 60)' });
    }
    const scanned = scenes.slice(0, sizes.scans);
    const sentAt = await sendScans(ours.url, openids, scanned, sizes.scansPerSecond);
    const deadline = Date.now() + 30_000;
    while (scanned.some((_, index) => answeredAt[index] === undefined) && Date.now() < deadline) await sleep(50);
    const latencies = scanned.map((_, index) => (answeredAt[index] ?? NaN) - sentAt[index]).filter((value) => !Number.isNaN(value));
    rows.push(...latencyRows('baseline: 1 s polling', database.kind, latencies, '(≈ 500 ms)'));
    stopped = true;
    await Promise.all(polling);
  } finally {
    stopped = true;
    await baseline.stop();
    await stop(ours);
  }
  return rows;
}

async function measureThroughput(url: string, openids: string[], count: number, concurrency: number, scenes: string[]): Promise<{ perSecond: number; failures: number }> {
  let failures = 0;
  const base = Math.floor(Date.now() / 1000);
  const run = async (offset: number, total: number) =>
    inBatches(Array.from({ length: total }), concurrency, async (_, index) => {
      const i = offset + index;
      const scan = signedScan(url, openids[i % openids.length], scenes[i], base + i);
      const reply = await request(scan.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: scan.body });
      if (reply.status !== 200 || !reply.body.includes('登录成功')) failures += 1;
    });
  await run(0, Math.min(500, count)); // warm-up
  failures = 0;
  const started = performance.now();
  await run(500, count);
  return { perSecond: count / ((performance.now() - started) / 1000), failures };
}

/** 3. Signed SCAN callbacks per second, with the database write and the reply, beside co-wechat. */
export async function callbackThroughput(database: BenchDatabase, sizes: Sizes, coWechatPerSecond?: number): Promise<{ rows: Row[]; coWechat: number }> {
  const openids = await database.knex('users').pluck('openid');
  const users = openids.length > 0 ? (openids as string[]) : await seedUsers(database.knex, 1000);
  const issuer = createSceneIssuer(deriveKeys([sessionKey]).scene);
  const scenes = Array.from({ length: sizes.callbacks + 500 }, () => issuer.issueScene(Date.now() + 3_600_000));
  const server = await startOurServer(database.url);
  let ours;
  try {
    ours = await measureThroughput(server.url, users, sizes.callbacks, 64, scenes);
  } finally {
    await stop(server);
  }
  let coWechat = coWechatPerSecond;
  if (coWechat === undefined) {
    const helper = await startHelperServer('co-wechat-server.ts', { WECHAT_TOKEN: wechatToken });
    try {
      const result = await measureThroughput(helper.url, users, sizes.callbacks, 64, scenes);
      coWechat = result.perSecond;
    } finally {
      await helper.stop();
    }
  }
  return {
    coWechat,
    rows: [
      { scenario: 'callback throughput', db: database.kind, figure: 'signed SCAN events/s (DB write + reply)', value: ours.perSecond.toFixed(0), target: database.kind === 'mysql' ? '≥ 1500' : '' },
      { scenario: 'callback throughput', db: database.kind, figure: 'failed callbacks', value: String(ours.failures), target: '0' },
      { scenario: 'callback throughput', db: 'none', figure: 'co-wechat (verify + parse + reply, no DB) events/s', value: coWechat.toFixed(0), target: '' },
      { scenario: 'callback throughput', db: database.kind, figure: 'ours / co-wechat', value: (ours.perSecond / coWechat).toFixed(2), target: '' },
    ],
  };
}

/** 4. Many poll timeouts: no listener left behind, and the heap back where it started. */
export async function leakCheck(database: BenchDatabase, sizes: Sizes): Promise<Row[]> {
  const server = await startOurServer(database.url, { LOGIN_POLL_TIMEOUT_MS: '100' });
  try {
    const sessions = await openLoginSessions(server.url, 500);
    const pollRound = (total: number) =>
      inBatches(Array.from({ length: total }), sessions.length, async (_, index) => {
        const session = sessions[index % sessions.length];
        await request(pollUrl(server.url, session.scene), { headers: { cookie: session.cookie } });
      });
    await pollRound(5000); // warm-up: JIT, pools, caches
    const start = await serverStats(server.url);
    await pollRound(sizes.leakPolls);
    await sleep(500);
    const end = await serverStats(server.url);
    const growth = (end.heapUsed - start.heapUsed) / start.heapUsed;
    return [
      { scenario: 'leak check', db: database.kind, figure: `listeners after ${sizes.leakPolls.toLocaleString('en')} poll timeouts`, value: String(end.listeners), target: '0' },
      { scenario: 'leak check', db: database.kind, figure: 'heap after GC: start → end', value: `${mb(start.heapUsed)} → ${mb(end.heapUsed)} (${(growth * 100).toFixed(1)}%)`, target: 'within 10%' },
    ];
  } finally {
    await stop(server);
  }
}
