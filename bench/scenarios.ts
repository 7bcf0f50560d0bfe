import { printProfileWindow, startCostMeter, waitUntilIdle, type Cost } from './lib/cpu.js';
import { inBatches, percentile, request, sleep } from './lib/http.js';
import { startHelperServer, startOurServer, startOurServerWithFakeWechat, stop, type ServerProcess } from './lib/processes.js';
import { freePort } from '../test/helpers/process-server.js';
import { actOnPhone, expectedStatus, finishOpenLogin, openPhone, openWayPage, startOpenLogin, wayOf, type OpenLogin, type WayPage } from './lib/ways.js';
import {
  type BenchDatabase,
  openLoginSessions,
  pollUrl,
  questions,
  rssOf,
  seedUsers,
  serverStats,
  createNewcomers,
  signedScanEvent,
  recordedScenes,
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
  /** Newcomers' scans in the callback scenario (each one a new user). */
  newcomerCallbacks: number;
  leakPolls: number;
  /** The mixed scenario: polls held throughout, and how long scans arrive. */
  mixedPolls: number;
  mixedSeconds: number;
  /** Restart and poll wave: browsers re-polling at once after the restart (besides the scanned ones), the scans' rate and how long, and the poll timeout. */
  wavePolls: number;
  waveScansPerSecond: number;
  waveSeconds: number;
  wavePollTimeoutMs: number;
  /** Scans sent at the same rate before the measured ones (JIT, pools, caches), not counted: scan to login and mixed scans. */
  warmUpSeconds: number;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function waitForListeners(url: string, count: number, failures = new Map<string, number>(), timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await serverStats(url)).listeners < count) {
    if (Date.now() > deadline) {
      throw new Error(`only ${(await serverStats(url)).listeners} of ${count} polls held; failures: ${JSON.stringify([...failures])}`);
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

/** Why polls failed, by reason, for the report when too few are held. One per scenario, never shared. */
type PollFailures = Map<string, number>;

/** Keeps a browser polling like static/js/login.js: again after `pending`, and after a failure with a back-off. */
async function keepPolling(url: string, browser: Browser, stopped: () => boolean, pollFailures: PollFailures, onPending?: () => void): Promise<void> {
  const countFailure = (reason: string) => pollFailures.set(reason, (pollFailures.get(reason) ?? 0) + 1);
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
      await sleep(Math.min(1000 * failures, 5000) * (0.5 + Math.random()));
      continue;
    }
    failures = 0;
    const status = (JSON.parse(reply.body) as { status: string }).status;
    // Scanned: a mini-program code waiting for the tap in the mini-program (static/js/login.js polls on too).
    if (status === 'pending') onPending?.();
    if (status !== 'pending' && status !== 'scanned') {
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

/**
 * Sends signed SCAN callbacks at a steady rate; returns when each was sent, and how long each
 * callback took. With `measured`, its `start` runs (awaited) just before scan `from` is sent,
 * and only the callbacks from there on are timed: the ones before are a warm-up.
 */
async function sendScans(
  url: string,
  openids: string[],
  scenes: string[],
  perSecond: number,
  measured: { from: number; start: () => Promise<void> } = { from: 0, start: async () => {} },
): Promise<{ sentAt: number[]; callbackMs: number[] }> {
  const sentAt: number[] = [];
  const callbackMs: number[] = [];
  const gap = 1000 / perSecond;
  const start = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let index = 0; index < scenes.length; index += 1) {
    if (index === measured.from) await measured.start();
    const due = start + index * gap;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const scan = signedScan(url, openids[index], scenes[index], Math.floor(Date.now() / 1000) + index);
    sentAt[index] = performance.now();
    const timed = index >= measured.from;
    sends.push(request(scan.url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: scan.body }).then(() => timed && callbackMs.push(performance.now() - sentAt[index])));
  }
  await Promise.all(sends);
  return { sentAt, callbackMs: callbackMs.sort((a, b) => a - b) };
}

/** Per scan: the server's CPU, MariaDB's, and the statements sent, over the whole stretch from first scan to last answer. */
function costRow(scenario: string, db: string, cost: Cost, scans: number): Row {
  const per = (value: number | undefined, digits: number) => (value === undefined ? '–' : (value / scans).toFixed(digits));
  const busy = ((cost.serverCpuMs / cost.wallMs) * 100).toFixed(0);
  return {
    scenario,
    db,
    figure: 'per scan: server CPU ms / MariaDB CPU ms / statements (server busy %)',
    value: `${per(cost.serverCpuMs, 2)} / ${per(cost.mariadbCpuMs, 2)} / ${per(cost.statements, 1)} (${busy} %)`,
    target: '',
  };
}

/**
 * Per second since `from` (the first scan by default), the worst scan → answer: where a backlog starts and
 * ends. A second with a scan never answered shows "lost"; a second without a scan, 0.
 */
function worstPerSecond(sentAt: number[], scanned: Browser[], from = sentAt[0]): number[] {
  const worst: number[] = [];
  scanned.forEach((browser, index) => {
    const second = Math.floor((sentAt[index] - from) / 1000);
    worst[second] = Math.max(worst[second] ?? 0, browser.answeredAt === undefined ? Infinity : browser.answeredAt - sentAt[index]);
  });
  return Array.from(worst, (value) => value ?? 0);
}

function printWorstPerSecond(sentAt: number[], scanned: Browser[], note: string, from?: number): void {
  const shown = worstPerSecond(sentAt, scanned, from).map((value) => (value === Infinity ? 'lost' : String(Math.round(value))));
  process.stderr.write(`  worst scan → answer per second (ms, ${note}): ${shown.join(' ')}\n`);
}

const threePercentiles = (sorted: number[]) => `${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 95))} / ${ms(percentile(sorted, 99))}`;

function latencyRows(scenario: string, db: string, latencies: number[], target: string): Row[] {
  const sorted = [...latencies].sort((a, b) => a - b);
  return [
    { scenario, db, figure: `scan → answer p50 / p95 / p99 (${sorted.length} scans)`, value: threePercentiles(sorted), target },
  ];
}

/** The server's LOGIN_POLL_TIMEOUT_MS in scan to login (its default), and how long the re-polls of one timeout wave take to settle. */
const pollTimeoutMs = 25_000;
const waveSettleMs = 3_000;
/** Left after the stream for its last answers, before the next wave. */
const streamDrainMs = 3_000;

/** 2. Scan to login with many polls held, against the 1-second polling of the usual tutorials. */
export async function scanToLogin(database: BenchDatabase, sizes: Sizes): Promise<Row[]> {
  const rows: Row[] = [];
  const warmUp = sizes.warmUpSeconds * sizes.scansPerSecond;
  if (sizes.scans + warmUp > sizes.scanPolls) throw new Error(`scan to login needs ${sizes.scans + warmUp} of its ${sizes.scanPolls} browsers: lower the rate`);
  // The measured scans' users first (the baseline reuses them), then the warm-up's.
  const openids = await seedUsers(database.knex, sizes.scans + warmUp);
  // BENCH_FAKE_WECHAT=1: WeChat's API (the login notices) on the fake, in its own process, as production's would be.
  const env = { LOGIN_POLL_TIMEOUT_MS: String(pollTimeoutMs) };
  const server = process.env.BENCH_FAKE_WECHAT ? await startOurServerWithFakeWechat(database.url, env) : await startOurServer(database.url, env);
  let stopped = false;
  try {
    const browsers: Browser[] = (await openLoginSessions(server.url, sizes.scanPolls)).map((session) => ({ session }));
    const pollFailures: PollFailures = new Map();
    const pollsOpenedAt = performance.now();
    const polling = browsers.map((browser) => keepPolling(server.url, browser, () => stopped, pollFailures));
    await waitForListeners(server.url, sizes.scanPolls, pollFailures);

    if (database.kind === 'mysql') {
      const perMinute = await queriesPerBrowserPerMinute(database, sizes.scanPolls, sizes.idleWindowMs);
      rows.push({ scenario: 'scan to login', db: database.kind, figure: 'DB queries per waiting browser per minute (long-poll)', value: perMinute.toFixed(2), target: '≤ 3' });
    }

    // The held polls were opened together, so they time out together every pollTimeoutMs and come back
    // at once (real browsers do not poll in step). The stream starts just after such a wave, so that it
    // measures logins and not the wave; it must end before the next one.
    const streamMs = ((sizes.scans + warmUp) / sizes.scansPerSecond) * 1000;
    if (streamMs > pollTimeoutMs - waveSettleMs - streamDrainMs) throw new Error(`the scans (${streamMs} ms) do not fit between two poll timeouts: raise the rate`);
    const sinceOpened = performance.now() - pollsOpenedAt;
    await sleep(Math.ceil(sinceOpened / pollTimeoutMs) * pollTimeoutMs + waveSettleMs - sinceOpened);
    // One stream at the same rate: the warm-up's scans (other browsers, other users) first, then the measured ones.
    const scanned = browsers.slice(0, sizes.scans);
    const stream = [...browsers.slice(sizes.scans, sizes.scans + warmUp), ...scanned];
    const streamOpenids = [...openids.slice(sizes.scans), ...openids.slice(0, sizes.scans)];
    let cost: Awaited<ReturnType<typeof startCostMeter>> | undefined;
    const sent = await sendScans(server.url, streamOpenids, stream.map((browser) => browser.session.scene), sizes.scansPerSecond, {
      from: warmUp,
      start: async () => void (cost = await startCostMeter(database, server.child.pid!)),
    });
    const sentAt = sent.sentAt.slice(warmUp);
    const deadline = Date.now() + 30_000;
    while (stream.some((browser) => browser.answeredAt === undefined) && Date.now() < deadline) await sleep(50);
    const spent = await cost!.stop();
    printProfileWindow(sent.sentAt[warmUp], server.child.pid!);
    printWorstPerSecond(sent.sentAt, stream, `warm-up first, ${((sent.sentAt[0] - pollsOpenedAt) / 1000).toFixed(0)} s after the polls were opened`);
    // Mapped before filtering: each browser keeps its own send time even when another one was never answered.
    const latencies = scanned.map((browser, index) => (browser.answeredAt ?? NaN) - sentAt[index]).filter((value) => !Number.isNaN(value));
    const failed = scanned.filter((browser) => browser.status !== 'success').length;
    rows.push(...latencyRows('scan to login', database.kind, latencies, 'p99 ≤ 25 ms'));
    rows.push({ scenario: 'scan to login', db: database.kind, figure: 'polls not answered success', value: String(failed), target: '0' });
    rows.push({ scenario: 'scan to login', db: database.kind, figure: 'callback answered (send → reply) p50 / p95 / p99', value: threePercentiles(sent.callbackMs), target: '' });
    rows.push(costRow('scan to login', database.kind, spent, sizes.scans));
    const retried = browsers.reduce((sum, browser) => sum + (browser.errors ?? 0), 0);
    rows.push({ scenario: 'scan to login', db: database.kind, figure: `poll requests that failed and were retried (${sizes.scanPolls.toLocaleString('en')} opened at once)`, value: String(retried), target: '' });
    stopped = true;
    await stop(server);
    await Promise.all(polling);
  } finally {
    stopped = true;
    await server.stop();
  }
  rows.push(...(await tutorialBaseline(database, openids.slice(0, sizes.scans), sizes)));
  return rows;
}

/** The tutorial design: each browser asks a plain status endpoint every second. */
async function tutorialBaseline(database: BenchDatabase, openids: string[], sizes: Sizes): Promise<Row[]> {
  const rows: Row[] = [];
  const ours = await startOurServer(database.url); // only to process the callbacks
  const baseline = await startHelperServer('baseline-status-server.ts', { DATABASE_URL: database.url });
  let stopped = false;
  try {
    const scenes = await recordedScenes(database.knex, sizes.scanPolls);
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
    const { sentAt } = await sendScans(ours.url, openids, scanned, sizes.scansPerSecond);
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

type Push = { url: string; body: string };

/** Sends `count` pushes (after a warm-up of `warmUp` more), `concurrency` at a time; each reply must pass `ok`. */
async function measureThroughput(
  count: number,
  warmUp: number,
  concurrency: number,
  push: (index: number) => Push,
  ok: (body: string) => boolean,
): Promise<{ perSecond: number; failures: number }> {
  let failures = 0;
  const run = async (offset: number, total: number) =>
    inBatches(Array.from({ length: total }), concurrency, async (_, index) => {
      const { url, body } = push(offset + index);
      const reply = await request(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
      if (reply.status !== 200 || !ok(reply.body)) failures += 1;
    });
  await run(0, warmUp); // JIT, pools, caches
  failures = 0;
  const started = performance.now();
  await run(warmUp, count);
  return { perSecond: count / ((performance.now() - started) / 1000), failures };
}

const callbackConcurrency = 64;
const callbackWarmUp = 500;
/** Pushes sent one after another (each after the previous reply), once the server and MariaDB are idle: what one scan costs alone. */
const oneAtATimeCount = 400;

/** Sends `count` pushes one at a time; returns each send → reply time, sorted, and the failures. */
async function measureOneAtATime(count: number, push: (index: number) => Push, ok: (body: string) => boolean) {
  const times: number[] = [];
  let failures = 0;
  for (let index = 0; index < count; index += 1) {
    const { url, body } = push(index);
    const started = performance.now();
    const reply = await request(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
    times.push(performance.now() - started);
    if (reply.status !== 200 || !ok(reply.body)) failures += 1;
  }
  return { times: times.sort((a, b) => a - b), failures };
}

/**
 * 3. Signed scan callbacks per second, with the database write and the reply: returning users (`SCAN`),
 * newcomers (`subscribe` with `qrscene_`, a user created), and co-wechat, all in the same run.
 */
export async function callbackThroughput(database: BenchDatabase, sizes: Sizes): Promise<Row[]> {
  const openids = await database.knex('users').pluck('openid');
  const users = openids.length > 0 ? (openids as string[]) : await seedUsers(database.knex, 1000);
  const returningScenes = await recordedScenes(database.knex, sizes.callbacks + callbackWarmUp + oneAtATimeCount);
  const newcomerScenes = await recordedScenes(database.knex, sizes.newcomerCallbacks + callbackWarmUp);
  const base = Math.floor(Date.now() / 1000);
  const server = await startOurServer(database.url);
  let returning;
  let returningAlone;
  let newcomer;
  try {
    const newcomers = await createNewcomers(server.url, sizes.newcomerCallbacks + callbackWarmUp, `cb${base}`);
    returning = await measureThroughput(
      sizes.callbacks,
      callbackWarmUp,
      callbackConcurrency,
      (i) => signedScan(server.url, users[i % users.length], returningScenes[i], base + i),
      (body) => body.includes('登录成功'),
    );
    const after = sizes.callbacks + callbackWarmUp;
    await waitUntilIdle(server.child.pid!); // alone: nothing left over from the burst
    returningAlone = await measureOneAtATime(
      oneAtATimeCount,
      (i) => signedScan(server.url, users[i % users.length], returningScenes[after + i], base + after + i),
      (body) => body.includes('登录成功'),
    );
    newcomer = await measureThroughput(
      sizes.newcomerCallbacks,
      callbackWarmUp,
      callbackConcurrency,
      (i) => signedScanEvent(server.url, 'subscribe', newcomers[i], newcomerScenes[i], base + i),
      (body) => body.includes('绑定手机号'),
    );
  } finally {
    await stop(server);
  }
  // The same newcomers' load on a server without a mini-program (WeChat's API on a fake): the unionid is linked after the reply.
  const plainScenes = await recordedScenes(database.knex, sizes.newcomerCallbacks + callbackWarmUp);
  const plain = await startOurServerWithFakeWechat(database.url);
  let plainNewcomer;
  try {
    plainNewcomer = await measureThroughput(
      sizes.newcomerCallbacks,
      callbackWarmUp,
      callbackConcurrency,
      (i) => signedScanEvent(plain.url, 'subscribe', `o_plain_${base}_${i}`, plainScenes[i], base + i),
      (body) => body.includes('绑定手机号'),
    );
  } finally {
    await stop(plain);
  }
  const helper = await startHelperServer('co-wechat-server.ts', { WECHAT_TOKEN: wechatToken });
  let coWechat;
  let coWechatAlone;
  try {
    coWechat = await measureThroughput(
      sizes.callbacks,
      callbackWarmUp,
      callbackConcurrency,
      (i) => signedScan(helper.url, users[i % users.length], returningScenes[i], base + i),
      (body) => body.includes('登录成功'),
    );
    const after = sizes.callbacks + callbackWarmUp;
    await waitUntilIdle(helper.pid);
    coWechatAlone = await measureOneAtATime(
      oneAtATimeCount,
      (i) => signedScan(helper.url, users[i % users.length], returningScenes[after + i], base + after + i),
      (body) => body.includes('登录成功'),
    );
  } finally {
    await helper.stop();
  }
  const scenario = 'callback throughput';
  const db = database.kind;
  return [
    { scenario, db, figure: 'returning: signed SCAN events/s (DB write + reply)', value: returning.perSecond.toFixed(0), target: '' },
    { scenario, db, figure: 'newcomer, with a mini-program (user/info first): subscribe+qrscene events/s', value: newcomer.perSecond.toFixed(0), target: db === 'mysql' ? '≥ 1000' : '' },
    { scenario, db, figure: 'newcomer, no mini-program (unionid after the reply): events/s', value: plainNewcomer.perSecond.toFixed(0), target: db === 'mysql' ? '≥ 1000' : '' },
    { scenario, db, figure: 'co-wechat (verify + parse + reply, no DB) events/s, same run', value: coWechat.perSecond.toFixed(0), target: '' },
    { scenario, db, figure: 'returning / co-wechat', value: (returning.perSecond / coWechat.perSecond).toFixed(2), target: '≥ 0.7' },
    { scenario, db, figure: 'newcomer / returning (with a mini-program; without)', value: `${(newcomer.perSecond / returning.perSecond).toFixed(2)}; ${(plainNewcomer.perSecond / returning.perSecond).toFixed(2)}`, target: '≥ 0.6' },
    {
      scenario,
      db,
      figure: `one at a time (${oneAtATimeCount}, each after the last reply): send → reply p50 / p99, ours (returning) | co-wechat`,
      value: `${ms(percentile(returningAlone.times, 50))} / ${ms(percentile(returningAlone.times, 99))} | ${ms(percentile(coWechatAlone.times, 50))} / ${ms(percentile(coWechatAlone.times, 99))}`,
      target: '',
    },
    {
      scenario,
      db,
      figure: 'failed callbacks (returning; newcomer ×2; co-wechat; one at a time)',
      value: `${returning.failures}; ${newcomer.failures}, ${plainNewcomer.failures}; ${coWechat.failures}; ${returningAlone.failures + coWechatAlone.failures}`,
      target: '0',
    },
  ];
}

/**
 * 5. Scan to answer under a steady mixed load: `mixedPolls` browsers always hold polls (a new one starts
 * whenever one is answered), and logins arrive at `scansPerSecond` for `mixedSeconds`, half of them from
 * newcomers, by every way in (bench/lib/ways.ts): QR codes scanned, codes sent to the account, and with
 * the simulator mini-program codes and Open Platform logins. The p99 of the first and the last 10 s shows
 * any growth. The stream starts `warmUpSeconds` earlier; those logins are checked but not counted.
 */
export async function mixedScans(database: BenchDatabase, sizes: Sizes, miniProgram: boolean): Promise<Row[]> {
  const warmUp = sizes.warmUpSeconds * sizes.scansPerSecond;
  const total = warmUp + sizes.mixedSeconds * sizes.scansPerSecond;
  const tag = `${miniProgram ? 'mp' : 'plain'}${Date.now()}`;
  const kinds = Array.from({ length: total }, (_, index) => wayOf(index, miniProgram));
  const isNewcomer = (index: number) => expectedStatus[kinds[index]] === 'bind';
  const newcomerCount = kinds.filter((_, index) => isNewcomer(index)).length;
  const returningOpenids = await seedUsers(database.knex, total - newcomerCount, tag);
  // The simulator configures a mini-program and every way in; the fake WeChat runs the server as in production without one.
  const server = miniProgram ? await startOurServer(database.url) : await startOurServerWithFakeWechat(database.url, { LOGIN_METHODS: 'oa-qr,oa-code' });
  let stopped = false;
  const polling: Promise<void>[] = [];
  try {
    // Newcomers are the simulator's personas (WeChat knows them: user/info, the mini-program, the website login).
    const newcomerOpenids = miniProgram ? await createNewcomers(server.url, newcomerCount, tag) : Array.from({ length: newcomerCount }, (_, index) => `o_new_${tag}_${index}`);
    const openidOf: string[] = [];
    let returningNext = 0;
    let newcomerNext = 0;
    kinds.forEach((_, index) => (openidOf[index] = isNewcomer(index) ? newcomerOpenids[newcomerNext++] : returningOpenids[returningNext++]));
    // The simulator's phone, for the mini-program and the website login (only the simulator plays them).
    const phone = miniProgram ? await openPhone(server.url) : undefined;
    // Each login's browser: a page of its way, polling; an Open Platform login waits on WeChat's page instead.
    const pages = await inBatches(kinds, 32, (kind): Promise<WayPage | OpenLogin> => (kind === 'open-newcomer' ? startOpenLogin(server.url) : openWayPage(server.url, kind)));
    const pollBrowsers: Browser[] = [];
    const browserOf: (Browser | undefined)[] = kinds.map((kind, index) => {
      if (kind === 'open-newcomer') return undefined;
      const browser = { session: pages[index] as WayPage };
      pollBrowsers.push(browser);
      return browser;
    });
    // More browsers behind them, so that mixedPolls stay held to the end.
    pollBrowsers.push(...(await openLoginSessions(server.url, sizes.mixedPolls)).map((session) => ({ session })));
    const pollFailures: PollFailures = new Map();
    let nextToStart = 0;
    // A browser answered, another one opens its page: the number of held polls stays at mixedPolls.
    const startNext = () => {
      if (stopped || nextToStart >= pollBrowsers.length) return;
      const browser = pollBrowsers[nextToStart++];
      polling.push(keepPolling(server.url, browser, () => stopped, pollFailures).then(startNext));
    };
    for (let index = 0; index < sizes.mixedPolls; index += 1) startNext();
    await waitForListeners(server.url, sizes.mixedPolls, pollFailures);
    const settledMs = await waitUntilIdle(server.child.pid!);
    process.stderr.write(`  waited ${(settledMs / 1000).toFixed(0)} s for the server and MariaDB to finish the set-up's work\n`);

    const gap = 1000 / sizes.scansPerSecond;
    const sentAt: number[] = [];
    const answeredAt: (number | undefined)[] = [];
    const statusOf: (string | undefined)[] = [];
    const sends: Promise<unknown>[] = [];
    let callbackFailures = 0;
    const callbackMs: number[] = [];
    const t0 = performance.now();
    for (let index = 0; index < total; index += 1) {
      const wait = t0 + index * gap - performance.now();
      if (wait > 1) await sleep(wait);
      const kind = kinds[index];
      sentAt[index] = performance.now();
      if (kind === 'open-newcomer') {
        sends.push(
          finishOpenLogin(server.url, phone!, pages[index] as OpenLogin, openidOf[index]).then(
            (location) => {
              answeredAt[index] = performance.now();
              statusOf[index] = location === '/bind' ? 'bind' : location === '/profile' ? 'success' : location;
            },
            () => void (callbackFailures += 1),
          ),
        );
        continue;
      }
      const acted = actOnPhone(server.url, phone, kind, pages[index] as WayPage, openidOf[index], Math.floor(Date.now() / 1000) + index);
      sends.push(
        acted.then(
          (reply) => {
            if (index >= warmUp && kind !== 'mini-newcomer') callbackMs.push(performance.now() - sentAt[index]);
            if (reply.status !== 200 && !(reply.status >= 301 && reply.status <= 303)) callbackFailures += 1;
          },
          () => void (callbackFailures += 1),
        ),
      );
    }
    const lateBy = performance.now() - (t0 + total * gap);
    const measuredFrom = t0 + warmUp * gap;
    await Promise.all(sends);
    printProfileWindow(measuredFrom, server.child.pid!);
    const deadline = Date.now() + 30_000;
    const done = (index: number) => (browserOf[index] ? browserOf[index]!.answeredAt !== undefined : answeredAt[index] !== undefined || statusOf[index] !== undefined);
    while (kinds.some((_, index) => !done(index)) && Date.now() < deadline) await sleep(50);
    kinds.forEach((_, index) => {
      const browser = browserOf[index];
      if (browser) {
        answeredAt[index] = browser.answeredAt;
        statusOf[index] = browser.status;
      }
    });
    const latencyOf = (index: number) => (answeredAt[index] ?? NaN) - sentAt[index];
    const pick = (keep: (index: number) => boolean) =>
      kinds.map((_, index) => index).filter((index) => index >= warmUp && keep(index)).map(latencyOf).filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
    const windowMs = 10_000;
    const all = pick(() => true);
    const first = pick((index) => sentAt[index] - measuredFrom < windowMs);
    const last = pick((index) => sentAt[index] - measuredFrom >= sizes.mixedSeconds * 1000 - windowMs);
    printWorstPerSecond(sentAt, kinds.map((_, index) => ({ answeredAt: answeredAt[index] }) as Browser), 'warm-up first');
    const wrong = kinds.filter((kind, index) => statusOf[index] !== expectedStatus[kind]);
    const scenario = miniProgram ? 'mixed scans, with a mini-program' : 'mixed scans, no mini-program';
    const db = database.kind;
    const held = sizes.mixedPolls.toLocaleString('en');
    const byWay = [...new Set(kinds)].map((kind) => `${kind} ${ms(percentile(pick((index) => kinds[index] === kind), 99))}`).join(', ');
    return [
      { scenario, db, figure: `scan → answer p50 / p95 / p99 (${all.length} logins in ${sizes.mixedSeconds} s after ${sizes.warmUpSeconds} s of warm-up, half newcomers, ${held} polls held)`, value: threePercentiles(all), target: 'p99 ≤ 25 ms' },
      { scenario, db, figure: 'p99 of the first 10 s / of the last 10 s', value: `${ms(percentile(first, 99))} / ${ms(percentile(last, 99))}`, target: 'no growth' },
      { scenario, db, figure: 'p99 newcomers / returning', value: `${ms(percentile(pick(isNewcomer), 99))} / ${ms(percentile(pick((index) => !isNewcomer(index)), 99))}`, target: '' },
      { scenario, db, figure: 'p99 by way in', value: byWay, target: '' },
      { scenario, db, figure: 'callback answered (send → reply) p50 / p95 / p99', value: threePercentiles(callbackMs.sort((a, b) => a - b)), target: '' },
      { scenario, db, figure: 'logins that did not end as their way should (bind or success); failed pushes or steps', value: `${wrong.length}${wrong.length > 0 ? ` (${[...new Set(wrong)].join(', ')})` : ''}; ${callbackFailures}`, target: '0; 0' },
      { scenario, db, figure: 'poll requests that failed and were retried; sender behind schedule at the end', value: `${pollBrowsers.reduce((sum, browser) => sum + (browser.errors ?? 0), 0)}; ${ms(Math.max(0, lateBy))}`, target: '' },
    ];
  } finally {
    stopped = true;
    await stop(server);
    await Promise.all(polling);
    await server.stop();
  }
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

/**
 * 6. A restart, then a poll-timeout wave. Browsers hold polls on one server process, which is stopped
 * (its held polls answer at once, as in a deploy) and replaced by a new one on the same port and
 * database; the browsers come back as the login script does, each after its own back-off, and then time
 * out together (a wave) but for each poll's jitter. Returning users' scans arrive at
 * `waveScansPerSecond` from the moment the new process listens, for `waveSeconds`, across the first
 * wave. Reports the worst scan → answer of each second, the first 5 s against the seconds before the
 * wave, and the worst second of the wave against the worst second elsewhere.
 */
export async function restartAndWave(database: BenchDatabase, sizes: Sizes): Promise<Row[]> {
  const scans = sizes.waveScansPerSecond * sizes.waveSeconds;
  const openids = await seedUsers(database.knex, scans, `wave${Date.now()}`);
  const env = { LOGIN_POLL_TIMEOUT_MS: String(sizes.wavePollTimeoutMs), PORT: String(await freePort()) };
  const before = await startOurServer(database.url, env);
  let stopped = false;
  const polling: Promise<void>[] = [];
  const pollFailures: PollFailures = new Map();
  let server: ServerProcess | undefined;
  try {
    const browsers: Browser[] = (await openLoginSessions(before.url, sizes.wavePolls + scans)).map((session) => ({ session }));
    // The browsers the restart cuts off hold polls; the ones to be scanned have their pages open and start polling just before their scan.
    const scanned = browsers.slice(0, scans);
    // When the cut-off browsers' polls on the new process time out: the wave, as it really falls.
    const pendingAt: number[] = [];
    for (const browser of browsers.slice(scans)) polling.push(keepPolling(before.url, browser, () => stopped, pollFailures, () => pendingAt.push(performance.now())));
    await waitForListeners(before.url, sizes.wavePolls, pollFailures);
    await stop(before);
    server = await startOurServer(database.url, env);
    const restartedAt = performance.now();
    const gap = 1000 / sizes.waveScansPerSecond;
    const startPolling = (browser: Browser) => polling.push(keepPolling(server!.url, browser, () => stopped, pollFailures));
    const timers = scanned.map((browser, index) => setTimeout(() => startPolling(browser), index * gap));
    await sleep(300);
    const { sentAt } = await sendScans(server.url, openids, scanned.map((browser) => browser.session.scene), sizes.waveScansPerSecond);
    timers.forEach(clearTimeout);
    const deadline = Date.now() + 30_000;
    while (scanned.some((browser) => browser.answeredAt === undefined) && Date.now() < deadline) await sleep(50);
    printWorstPerSecond(sentAt, scanned, 'each second from the restart', restartedAt);
    const worst = worstPerSecond(sentAt, scanned, restartedAt);
    const latenciesIn = (fromMs: number, toMs: number) =>
      scanned
        .map((browser, index) => ({ at: sentAt[index] - restartedAt, ms: (browser.answeredAt ?? Infinity) - sentAt[index] }))
        .filter((scan) => scan.at >= fromMs && scan.at < toMs)
        .map((scan) => scan.ms)
        .sort((a, b) => a - b);
    // The wave: the seconds in which the middle 90 % of the cut-off polls' first timeouts on the new process fell
    // (the drained polls' answers before the restart are left out).
    const waveTimes = pendingAt.filter((at) => at > restartedAt + 1000 && at < restartedAt + sizes.wavePollTimeoutMs + 10_000).map((at) => at - restartedAt).sort((a, b) => a - b);
    const waveFrom = Math.floor(percentile(waveTimes, 5) / 1000);
    const waveTo = Math.floor(percentile(waveTimes, 95) / 1000);
    const waveWorst = Math.max(...worst.slice(waveFrom, waveTo + 1));
    printProfileWindow(restartedAt, server.child.pid!, restartedAt + 3000, 'the first 3 s');
    printProfileWindow(restartedAt + waveFrom * 1000, server.child.pid!, restartedAt + (waveTo + 1) * 1000, 'the wave');
    const elsewhereWorst = Math.max(...worst.map((value, second) => (second >= 5 && (second < waveFrom || second > waveTo) ? value : 0)));
    const failed = scanned.filter((browser) => browser.status !== 'success').length;
    const scenario = 'restart and poll wave';
    const db = database.kind;
    return [
      { scenario, db, figure: `p99 of the first 5 s after a restart / of 5 s to the wave (${sizes.wavePolls.toLocaleString('en')} browsers' polls cut by the restart, ${sizes.waveScansPerSecond} scans/s)`, value: `${ms(percentile(latenciesIn(0, 5000), 99))} / ${ms(percentile(latenciesIn(5000, waveFrom * 1000), 99))}`, target: 'first no worse' },
      { scenario, db, figure: `worst second of the wave (${waveFrom} to ${waveTo} s) / worst second elsewhere after 5 s`, value: `${ms(waveWorst)} / ${ms(elsewhereWorst)}`, target: 'wave ≤ 50 ms' },
      { scenario, db, figure: 'polls not answered success; poll requests refused during the restart and retried', value: `${failed}; ${browsers.reduce((sum, browser) => sum + (browser.errors ?? 0), 0)}`, target: '0; ' },
    ];
  } finally {
    stopped = true;
    await stop(before);
    if (server) await stop(server);
    await Promise.all(polling);
  }
}
