import { simulatorOriginalId } from '../../src/config.js';
import knexFactory, { type Knex } from 'knex';
import { knexConfigFromUrl } from '../../src/db/knex.js';
import { createSceneIssuer } from '../../src/login/scan/scene-issuer.js';
import { deriveKeys } from '../../src/security/keys.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { buildEventXml, buildSignedPush } from '../../src/wechat/signed-push.js';
import { cookiesOf, inBatches, request } from './http.js';

export const sessionKey = 'bench-session-key-0123456789';
export const wechatToken = 'dev-token';

export interface BenchDatabase {
  kind: 'sqlite' | 'mysql';
  url: string;
  knex: Knex;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one run (created and dropped as the tests do theirs). */
export async function createBenchDatabase(kind: 'sqlite' | 'mysql'): Promise<BenchDatabase> {
  const database = await createTestDatabase(kind);
  const knex = knexFactory(knexConfigFromUrl(database.url));
  await knex.migrate.latest();
  return {
    kind,
    url: database.url,
    knex,
    async drop() {
      await knex.destroy();
      await database.drop();
    },
  };
}

let phoneSerial = 0;

/** Users who already bound a phone: their scans log in at once, the hot path. */
export async function seedUsers(knex: Knex, count: number, tag = ''): Promise<string[]> {
  const now = new Date();
  const openids = Array.from({ length: count }, (_, index) => `o_bench_${tag}${index}`);
  for (let start = 0; start < count; start += 500) {
    await knex('users').insert(
      openids.slice(start, start + 500).map((openid) => ({
        openid,
        // Unique across calls: the tagged seeds of one database share the phone index.
        phone: `13${String(phoneSerial++).padStart(9, '0')}`,
        subscribed: true,
        session_version: 0,
        created_at: now,
        updated_at: now,
      })),
    );
  }
  return openids;
}

/** MySQL's count of statements the server has run, for queries per waiting browser. */
export async function questions(knex: Knex): Promise<number> {
  const [rows] = await knex.raw("show global status like 'Questions'");
  return Number(rows[0].Value);
}

export interface LoginSession {
  cookie: string;
  scene: string;
}

/** Opens `count` login pages, as that many browsers would; each has its own session and scene. */
export async function openLoginSessions(baseUrl: string, count: number): Promise<LoginSession[]> {
  return inBatches(Array.from({ length: count }), 32, async () => {
    const reply = await request(`${baseUrl}/login`);
    if (reply.status !== 200) throw new Error(`/login answered ${reply.status}: ${reply.body.slice(0, 300)}`);
    return { cookie: cookiesOf(reply), scene: reply.body.match(/data-scene="([^"]+)"/)![1] };
  });
}

export function pollUrl(baseUrl: string, scene: string): string {
  return `${baseUrl}/login/poll?scene=${encodeURIComponent(scene)}`;
}

/** A signed SCAN push for `openid` and `scene`, as WeChat would send it (the one builder in src/wechat/signed-push.ts). */
export function signedScan(baseUrl: string, openid: string, scene: string, createTime: number) {
  return signedScanEvent(baseUrl, 'SCAN', openid, scene, createTime);
}

/**
 * A signed scan push: `SCAN` from a follower (EventKey is the scene), or
 * `subscribe` from someone who follows by scanning (EventKey is `qrscene_` + the scene).
 */
export function signedScanEvent(baseUrl: string, event: 'SCAN' | 'subscribe', openid: string, scene: string, createTime: number) {
  const eventKey = event === 'subscribe' ? `qrscene_${scene}` : scene;
  const xml = buildEventXml({ toUser: simulatorOriginalId, openid, createTime, event, eventKey });
  const { query, body } = buildSignedPush(xml, { token: wechatToken, appId: '', accountId: simulatorOriginalId, openid });
  return { url: `${baseUrl}/wechat/callback?${query}`, body };
}

/**
 * People who have never used the site: WeChat users (personas of the server's
 * built-in simulator, so that its cgi-bin/user/info knows them and answers
 * with a unionid, as WeChat would) with no row in our database.
 */
export async function createNewcomers(baseUrl: string, count: number, tag: string): Promise<string[]> {
  const page = await request(`${baseUrl}/simulator`);
  const cookie = cookiesOf(page);
  const csrf = page.body.match(/name="_csrf" value="([^"]+)"/)![1];
  return inBatches(Array.from({ length: count }), 32, async (_, index) => {
    const reply = await request(`${baseUrl}/simulator/personas`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ nickname: `bench-${tag}-${index}`, _csrf: csrf }).toString(),
    });
    const location = reply.headers.location;
    if (reply.status !== 303 || !location) throw new Error(`/simulator/personas answered ${reply.status}`);
    return decodeURIComponent(location.split('as=')[1]);
  });
}

export async function serverStats(baseUrl: string): Promise<{ listeners: number; heapUsed: number; rss: number }> {
  return JSON.parse((await request(`${baseUrl}/__bench/stats`)).body);
}

/** The resident set of a process, from /proc (the server's own view would include no page-cache effects either). */
export function rssOf(pid: number): number {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string;
  return Number(status.match(/VmRSS:\s+(\d+) kB/)![1]) * 1024;
}

/**
 * Scenes as GET /login issues them (signed, and recorded in login_scenes, without which a scan is refused),
 * `count` of them, inserted in batches so that the rows cost the bench's setup and not the figures.
 */
export async function recordedScenes(knex: Knex, count: number, lifetimeMs = 3_600_000): Promise<string[]> {
  const issuer = createSceneIssuer(deriveKeys([sessionKey]).scene);
  const expiresAt = Date.now() + lifetimeMs;
  const scenes = Array.from({ length: count }, () => issuer.issueScene(expiresAt));
  const rows = scenes.map((scene) => ({
    scene,
    device_hash: '0'.repeat(64),
    user_agent: 'bench',
    ip: '127.0.0.1',
    created_at_ms: Date.now(),
    expires_at_ms: expiresAt,
    state: 'issued',
  }));
  for (let start = 0; start < rows.length; start += 500) await knex('login_scenes').insert(rows.slice(start, start + 500));
  return scenes;
}
