/**
 * deploy/nginx.conf for real: Debian's nginx with that file (ports, addresses
 * and certificate paths replaced) terminates TLS in front of two server
 * instances that share MariaDB and Redis, as in production.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import knexFactory from 'knex';
import { knexConfigFromUrl } from '../../src/db/knex.js';
import { createSimulatedPhone } from '../../src/simulator/phone.js';
import { simulatorAppId, simulatorOriginalId } from '../../src/config.js';
import { BrowserClient, sceneOf } from '../helpers/browser-client.js';
import { createMysqlDatabase } from '../helpers/databases.js';
import { logInThroughProcess } from '../helpers/process-login.js';
import { startSmsReceiver, type SmsReceiver } from '../helpers/sms-receiver.js';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/process-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitUntil } from '../helpers/wait-until.js';
import Redis from 'ioredis';
import { pollJitterMs } from '../../src/login/scan/poll-hold.js';

// nginx serves a self-signed certificate made for this run.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

const root = path.resolve(__dirname, '../..');
const nginxBinary = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((candidate) => spawnSync(candidate, ['-v']).status === 0);
/**
 * A Redis database of this suite's own, emptied before it starts: the SMS limits are counted there per client
 * address and phone for an hour, and runs of the suite within that hour (npm test three times in a row) would
 * otherwise add up to a 429.
 */
const redisUrl = `${(process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379').replace(/\/\d*$/, '')}/9`;
const ready = process.env.TEST_MYSQL === '1' && process.env.TEST_REDIS === '1' && nginxBinary !== undefined;
if (!nginxBinary) console.warn('\n  nginx suite SKIPPED: no nginx (apt-get install nginx; .ci/run installs it)\n');
const declare = ready ? test : test.skip;

/** The address clients reach nginx from: not 127.0.0.1, so it differs from the address the instances see (nginx's). */
const clientAddress = '127.0.0.2';
/** The one poll held past nginx's 60 s default. */
const longPollMs = 65_000;

interface Deployment {
  /** The public address: https through a TCP hop that connects to nginx from 127.0.0.2. */
  url: string;
  instances: ServerProcess[];
  output: () => string;
  /** The SMS provider's webhook both instances send codes to. */
  sms: SmsReceiver;
  nginxLog: () => string;
}

let deployment: Deployment | undefined;
const cleanups: (() => unknown)[] = [];

test.before(async () => {
  if (!ready) return;
  const directory = mkdtempSync(path.join(os.tmpdir(), 'wechat-login-nginx-'));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));

  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();

  const database = await createMysqlDatabase();
  cleanups.push(() => database.drop());
  const knex = knexFactory(knexConfigFromUrl(database.url));
  await knex.migrate.latest();
  await knex.destroy();

  const [portA, portB, httpsPort, httpPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const sms = await startSmsReceiver({ teardown: (cleanup) => cleanups.push(cleanup) });
  // The TCP hop exists first, so that PUBLIC_URL (its address) is known before the instances start.
  const hop = await startTcpProxy('127.0.0.1', httpsPort, { localAddress: clientAddress });
  cleanups.push(() => hop.down());
  const publicUrl = `https://127.0.0.1:${hop.port()}`;

  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', path.join(directory, 'key.pem'), '-out', path.join(directory, 'cert.pem')], { stdio: 'ignore' });
  writeFileSync(path.join(directory, 'site.conf'), templateSiteConfig({ directory, portA, portB, httpsPort, httpPort }));
  writeFileSync(path.join(directory, 'nginx.conf'), mainConfig(directory));
  const nginxArgs = ['-p', directory, '-c', path.join(directory, 'nginx.conf'), '-e', path.join(directory, 'error.log')];
  // The configuration must pass nginx's own check first: a clear message instead of a silent port.
  const checked = spawnSync(nginxBinary!, ['-t', ...nginxArgs], { encoding: 'utf8' });
  if (checked.status !== 0) throw new Error(`nginx -t refused the configuration:\n${checked.stderr}`);
  const nginx = spawn(nginxBinary!, ['-p', directory, '-c', path.join(directory, 'nginx.conf'), '-e', path.join(directory, 'error.log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let nginxOutput = '';
  nginx.stdout.on('data', (chunk) => (nginxOutput += chunk));
  nginx.stderr.on('data', (chunk) => (nginxOutput += chunk));
  const nginxExited = new Promise((resolve) => nginx.once('exit', resolve));
  cleanups.push(async () => {
    nginx.kill('SIGQUIT');
    await nginxExited;
  });

  const instances = await Promise.all(
    [portA, portB].map((port) =>
      startServerProcess({
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        // Each instance's simulator answers its own API calls directly, not through the proxy.
        WECHAT_API_BASE: `http://127.0.0.1:${port}/simulator/api`,
        WECHAT_OPEN_BASE: `http://127.0.0.1:${port}/simulator/api`,
        DATABASE_URL: database.url,
        REDIS_URL: redisUrl,
        TRUST_PROXY: '1',
        LOGIN_CONFIRM: 'off',
        LOGIN_POLL_TIMEOUT_MS: String(longPollMs),
        ...sms.env,
      }),
    ),
  );
  cleanups.push(() => Promise.all(instances.map((instance) => instance.stop())));
  let lastProblem: unknown;
  const healthy = async () => {
    const response = await fetch(`${publicUrl}/healthz`).catch((error: Error) => void (lastProblem = error.cause ?? error));
    if (response && response.status !== 200) lastProblem = `status ${response.status}`;
    return response?.status === 200;
  };
  await waitUntil(healthy, 10_000).catch(async () => {
    throw new Error(`nginx did not answer (${String(lastProblem)}):\n${nginxOutput}\n${readFileSync(path.join(directory, 'error.log'), 'utf8')}`);
  });
  deployment = {
    url: publicUrl,
    instances,
    output: () => instances.map((instance) => instance.output()).join('\n'),
    sms,
    nginxLog: () => readFileSync(path.join(directory, 'access.log'), 'utf8'),
  };
});

test.after.always(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** deploy/nginx.conf with this run's ports, loopback addresses and certificate; nothing else changes. */
function templateSiteConfig(options: { directory: string; portA: number; portB: number; httpsPort: number; httpPort: number }): string {
  const source = readFileSync(path.join(root, 'deploy/nginx.conf'), 'utf8');
  const replace = (text: string, from: string | RegExp, to: string) => {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`deploy/nginx.conf no longer contains ${from}`);
    return next;
  };
  let site = source;
  site = replace(site, 'server 127.0.0.1:3000', `server 127.0.0.1:${options.portA}`);
  site = replace(site, 'server 127.0.0.1:3001', `server 127.0.0.1:${options.portB}`);
  site = replace(site, /^\s*listen \[::\]:.*$/gm, '');
  // Directives only (anchored at the line's start), never the comments that mention them.
  site = replace(site, /^(\s*)listen 80;/m, `$1listen 127.0.0.1:${options.httpPort};`);
  site = replace(site, /^(\s*)listen 443 ssl/m, `$1listen 127.0.0.1:${options.httpsPort} ssl`);
  site = replace(site, /^(\s*)ssl_certificate +\S+;/m, `$1ssl_certificate ${path.join(options.directory, 'cert.pem')};`);
  site = replace(site, /^(\s*)ssl_certificate_key +\S+;/m, `$1ssl_certificate_key ${path.join(options.directory, 'key.pem')};`);
  site = replace(site, /^(\s*)root \/var\/www\/letsencrypt;/m, `$1root ${path.join(options.directory, 'www')};`);
  if (/^\s*listen (80|443)\b/m.test(site)) throw new Error('a public port is left in the templated configuration');
  return site;
}

/** A main nginx.conf of the test's own: in the foreground, every file under `directory`. */
function mainConfig(directory: string): string {
  const file = (name: string) => path.join(directory, name);
  return `daemon off;
master_process on;
worker_processes 1;
${process.getuid?.() === 0 ? `user ${os.userInfo().username};` : ''}
pid ${file('nginx.pid')};
error_log ${file('error.log')} warn;
events { worker_connections 256; }
http {
  access_log ${file('access.log')};
  client_body_temp_path ${file('client_body')};
  proxy_temp_path ${file('proxy')};
  fastcgi_temp_path ${file('fastcgi')};
  uwsgi_temp_path ${file('uwsgi')};
  scgi_temp_path ${file('scgi')};
  include ${file('site.conf')};
}
`;
}

function phoneThrough(url: string) {
  return createSimulatedPhone({ callbackUrl: `${url}/wechat/callback`, token: 'dev-token', appId: simulatorAppId, accountId: simulatorOriginalId });
}

declare('a whole QR login through nginx and two instances; the recorded IP is the one nginx saw', async (t) => {
  const { url, sms, instances } = deployment!;
  const browser = await logInThroughProcess({ baseUrl: url, sms, openid: 'o_nginx', phone: '13800138555' });
  const me = (await (await browser.get('/api/me')).json()) as { phone: string; logins: { ip: string; method: string }[] };
  t.is(me.phone, '13800138555');
  t.like(me.logins[0], { method: 'qrcode', ip: clientAddress });

  // A returning login: the scan and the poll may land on different instances (Redis relays the scan).
  const again = new BrowserClient(url, { 'user-agent': 'nginx-returning' });
  const scene = sceneOf(await (await again.get('/login')).text());
  const held = again.get(`/login/poll?scene=${scene}`).then((response) => response.json());
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is((await phoneThrough(url).scan('o_nginx', scene, 'ticket', true)).status, 200);
  t.like(await held, { status: 'success' });

  // Both instances served requests behind the one upstream.
  for (const instance of instances) t.regex(instance.output(), /"msg":"request"/);
  // nginx's request id replaced the client's and reached the server's log.
  const response = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'client-chosen-id' } });
  const requestId = response.headers.get('x-request-id') ?? '';
  t.regex(requestId, /^[0-9a-f]{32}$/);
  t.true(deployment!.nginxLog().length > 0);
});

// Depends on TRUST_PROXY (README, "Sessions and client addresses"): without it the server believes the leftmost X-Forwarded-For.
declare('a client\'s own X-Forwarded-For is not believed', async (t) => {
  const { url, output, sms } = deployment!;
  const forged = '203.0.113.9';
  const browser = await logInThroughProcess({ baseUrl: url, sms, openid: 'o_forger', phone: '13800138666', headers: { 'x-forwarded-for': forged } });
  const me = (await (await browser.get('/api/me')).json()) as { logins: { ip: string }[] };
  t.is(me.logins[0].ip, clientAddress);
  t.false(output().includes(`"ip":"${forged}"`), 'the access lines do not take it either');
});

/**
 * Every value of one header as it came over the wire: fetch() would join
 * repeated headers into one comma-separated value and hide the repetition.
 */
function rawHeaderValues(url: string, name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false }, (response) => {
        response.resume();
        const values: string[] = [];
        for (let index = 0; index < response.rawHeaders.length; index += 2) {
          if (response.rawHeaders[index].toLowerCase() === name.toLowerCase()) values.push(response.rawHeaders[index + 1]);
        }
        resolve(values);
      })
      .on('error', reject);
  });
}

// The server sends HSTS itself (PUBLIC_URL is https); nginx must not add a second one.
declare('exactly one Strict-Transport-Security header reaches the client', async (t) => {
  for (const route of ['/login', '/healthz']) {
    const values = await rawHeaderValues(`${deployment!.url}${route}`, 'strict-transport-security');
    t.is(values.length, 1, `${route}: ${JSON.stringify(values)}`);
    t.regex(values[0] ?? '', /^max-age=\d+/);
  }
});

declare('a body over client_max_body_size is refused by nginx', async (t) => {
  const response = await fetch(`${deployment!.url}/wechat/callback?signature=x&timestamp=1&nonce=1`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: 'x'.repeat(200 * 1024),
  });
  t.is(response.status, 413);
});

declare(`a poll held ${longPollMs / 1000} s through nginx (past its 60 s default) is answered, not cut`, async (t) => {
  t.timeout(longPollMs + 60_000);
  const browser = new BrowserClient(deployment!.url);
  const scene = sceneOf(await (await browser.get('/login')).text());
  const started = Date.now();
  const response = await browser.get(`/login/poll?scene=${scene}`);
  const elapsed = Date.now() - started;
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'pending' });
  // Held the configured time less its jitter (at most 3 s): still past nginx's 60 s default.
  t.true(elapsed >= longPollMs - pollJitterMs - 1000 && elapsed > 60_000, `held ${elapsed} ms`);
});
