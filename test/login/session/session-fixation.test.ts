import test from 'ava';
import { BrowserClient, sceneOf } from '../../helpers/browser-client.js';
import { answer, confirmPathOf, createPersona, desktopChrome, openInWechat } from '../../helpers/confirm-flow.js';
import { databaseKinds } from '../../helpers/databases.js';
import { phoneFor, poll } from '../../helpers/login-flow.js';
import { startServer } from '../../helpers/server.js';

/**
 * Issue 26, finding 2: an attacker who plants their session cookie in the
 * victim's browser (a sibling subdomain, a plain-http page) showed the victim
 * the attacker's QR code; the victim confirmed the number on their own screen,
 * and the attacker's copy of the session won the poll. Showing a code now
 * rotates the session id and moves the scene to it, and only the session that
 * showed the code last completes it.
 */
for (const { kind, enabled } of databaseKinds) {
  (enabled ? test : test.skip)(`${kind}: a planted session cookie: the victim's confirmed scan logs the victim's browser in, never the attacker's copy`, async (t) => {
    const server = await startServer(t, { database: kind, env: { LOGIN_CONFIRM: 'new-device' } });
    const attacker = new BrowserClient(server.url, { 'user-agent': desktopChrome });
    const planted = sceneOf(await (await attacker.get('/login')).text());
    const victimBrowser = new BrowserClient(server.url, { 'user-agent': desktopChrome });
    victimBrowser.setCookies(attacker.cookieHeader());

    // The victim's browser shows the same code (a reload costs no QR code), under a session id of its own.
    const shown = sceneOf(await (await victimBrowser.get('/login')).text());
    t.is(shown, planted);
    t.not(victimBrowser.cookieHeader(), attacker.cookieHeader());

    const victim = await createPersona(server, 'Victim');
    const path = confirmPathOf(server, (await phoneFor(server).scan(victim, shown, 'ticket', false)).replyText);
    const { number } = (await poll(victimBrowser, shown)).body as { status: string; number: string };
    const confirm = await openInWechat(server, victim, path);
    t.is((await answer(confirm.phone, confirm.html, { number })).status, 200);

    // The attacker's copy polls first: refused, and nothing is logged in for it.
    const stolen = await attacker.get(`/login/poll?scene=${encodeURIComponent(shown)}`);
    t.is(stolen.status, 403);
    t.deepEqual(await stolen.json(), { status: 'forbidden' });
    t.is((await attacker.get('/api/me')).status, 401);
    // The victim's own browser completes it.
    t.deepEqual((await poll(victimBrowser, shown)).body, { status: 'bind', redirect: '/bind' });
  });
}

test('of two copies of one cookie, the first to show the code again keeps it; the other gets a new code', async (t) => {
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'new-device' } });
  const first = new BrowserClient(server.url, { 'user-agent': desktopChrome });
  const scene = sceneOf(await (await first.get('/login')).text());
  const second = new BrowserClient(server.url, { 'user-agent': desktopChrome });
  second.setCookies(first.cookieHeader());
  t.is(sceneOf(await (await first.get('/login')).text()), scene, 'a reload keeps its code');
  t.not(sceneOf(await (await second.get('/login')).text()), scene, 'the stale copy cannot take the code over');
});
