import test from 'ava';
import { createPersona } from '../../helpers/confirm-flow.js';
import { databaseKinds } from '../../helpers/databases.js';
import { bindPhone, openLoginPage, poll } from '../../helpers/login-flow.js';
import { openMiniProgramLoginPage } from '../../helpers/mini-program-runtime.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { openSimulator } from '../../helpers/simulator-phone.js';
import { createTestClock } from '../../helpers/test-clock.js';

/** The page with a mini-program code: its browser, scene, and the short scene the code carries. */
async function openMiniCodePage(server: TestServer) {
  const page = await openLoginPage(server, '/login?method=miniprogram-code');
  const miniScene = page.html.match(/id="mini-code" data-mini-scene="([^"]+)" src="data:image\/png;base64,([^"]+)"/);
  if (!miniScene) throw new Error('the page shows no mini-program code');
  return { ...page, miniScene: miniScene[1], png: Buffer.from(miniScene[2], 'base64') };
}

const post = (server: TestServer, path: string, body: unknown) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

for (const { kind, enabled } of databaseKinds) {
  const declare = enabled ? test : test.skip;

  declare(`${kind}: the example mini-program page confirms a login with the right number: scanned, bind, profile`, async (t) => {
    const server = await startServer(t, { database: kind, env: { LOGIN_CONFIRM: 'new-device', LOGIN_POLL_TIMEOUT_MS: '1500' } });
    const openid = await createPersona(server, 'Mini');
    const { browser, scene, miniScene, png } = await openMiniCodePage(server);
    t.regex(miniScene, /^[A-Za-z0-9_-]{22}$/, 'a scene of at most 32 characters');
    t.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG, from wxa/getwxacodeunlimit');

    const mini = await openMiniProgramLoginPage(server, openid);
    await mini.onLoad({ scene: encodeURIComponent(miniScene) });
    t.like(mini.data, { state: 'confirm', browser: '', ip: '127.0.0.1' });
    const numbers = mini.data.numbers as string[];
    t.is(numbers.length, 3, 'a new device: the number to pick');
    const polled = (await poll(browser, scene)).body as { status: string; number?: string };
    t.is(polled.status, 'scanned');
    t.true(numbers.includes(polled.number!));

    await mini.onPickNumber({ currentTarget: { dataset: { number: polled.number! } } });
    t.is(mini.data.state, 'sent');
    t.deepEqual((await poll(browser, scene)).body, { status: 'bind', redirect: '/bind' });
    t.is((await bindPhone(server, browser, '13800138031')).status, 303);
    const me = await (await browser.get('/api/me')).json();
    t.like(me, { phone: '13800138031' });
    t.is((await server.knex('user_sessions').where({ scene }).first()).method, 'miniprogram-code');
  });
}

test('LOGIN_CONFIRM=off: one tap confirms; deny kills the login; the ticket is single-use and the scanner\'s own', async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'off', LOGIN_POLL_TIMEOUT_MS: '1500' } });
  const alice = await createPersona(server, 'Alice');
  const mallory = await createPersona(server, 'Mallory');

  const first = await openMiniCodePage(server);
  const mini = await openMiniProgramLoginPage(server, alice);
  await mini.onLoad({ scene: first.miniScene });
  t.is(mini.data.numbers, null, 'no number asked for');
  t.deepEqual((await poll(first.browser, first.scene)).body, { status: 'scanned' });
  // Another WeChat user with the ticket: refused, and the ticket stays Alice's.
  const malloryCode = await (await openSimulator(server)).generateCode(mallory, 'js');
  t.is((await post(server, '/api/miniprogram/qr/confirm', { ticket: mini.ticket, code: malloryCode, decision: 'approve' })).status, 403);
  await mini.onApprove();
  t.is(mini.data.state, 'sent');
  t.deepEqual((await poll(first.browser, first.scene)).body, { status: 'bind', redirect: '/bind' });
  // The ticket again: used up.
  await mini.onApprove();
  t.is(mini.data.state, 'gone');

  // Denied: the browser is told, and the code is dead.
  const second = await openMiniCodePage(server);
  const again = await openMiniProgramLoginPage(server, alice);
  await again.onLoad({ scene: second.miniScene });
  await again.onDeny();
  t.is(again.data.state, 'denied');
  t.deepEqual((await poll(second.browser, second.scene)).body, { status: 'denied' });
  // Mallory scanning the dead code gets nothing.
  const late = await openMiniProgramLoginPage(server, mallory);
  await late.onLoad({ scene: second.miniScene });
  t.is(late.data.state, 'gone');
});

test('a guessed, malformed or expired scene gets 400 and claims nothing; a code is the first scanner\'s', async (t) => {
  const clock = createTestClock();
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'off', QR_EXPIRE_SECONDS: '60' }, clock: clock.now });
  const alice = await createPersona(server, 'Alice');
  const bob = await createPersona(server, 'Bob');
  const sim = await openSimulator(server);
  const scanWith = async (scene: string, openid: string) => post(server, '/api/miniprogram/qr/scan', { scene, code: await sim.generateCode(openid, 'js') });

  t.is((await scanWith('A'.repeat(22), alice)).status, 400, 'guessed');
  t.is((await scanWith('short', alice)).status, 400, 'malformed');
  const page = await openMiniCodePage(server);
  t.is((await scanWith(page.miniScene, alice)).status, 200);
  t.is((await scanWith(page.miniScene, bob)).status, 400, 'taken by the first scanner');
  const again = await scanWith(page.miniScene, alice);
  t.is(again.status, 200, 'the scanner may scan again, for a fresh ticket');

  const late = await openMiniCodePage(server);
  clock.advance(61_000);
  t.is((await scanWith(late.miniScene, alice)).status, 400, 'expired');
  t.like(await server.knex('login_scenes').where({ scene: late.scene }).first(), { state: 'issued', scanner_user_id: null });
});

test('the example page opened other than by a scan (another mini-program, a shared card) claims nothing', async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'off' } });
  const victim = await createPersona(server, 'Victim');
  const attacker = await openMiniCodePage(server);
  // 1037: opened from another mini-program, which chose the path and its ?scene=.
  const lured = await openMiniProgramLoginPage(server, victim, 1037);
  await lured.onLoad({ scene: attacker.miniScene });
  t.is(lured.data.state, 'notScanned');
  t.like(await server.knex('login_scenes').where({ scene: attacker.scene }).first(), { state: 'issued', scanner_user_id: null });
});

test('a dead scene\'s page shows no image and asks WeChat for none', async (t) => {
  const clock = createTestClock();
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'off', QR_EXPIRE_SECONDS: '60' }, clock: clock.now });
  const page = await openMiniCodePage(server);
  clock.advance(61_000);
  const calls = () => server.handle.metrics.wechatApiCalls.get();
  const before = JSON.stringify(await calls());
  const status = await (await page.browser.get(`/login/status?scene=${encodeURIComponent(page.scene)}`)).text();
  t.notRegex(status, /data:image\/png/);
  t.regex(status, /id="mini-code" data-mini-scene=/);
  t.is(JSON.stringify(await calls()), before, 'no getwxacodeunlimit call');
});
