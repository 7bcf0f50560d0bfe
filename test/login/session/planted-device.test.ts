import test from 'ava';
import { hashDeviceId } from '../../../src/login/session/device-cookie.js';
import { BrowserClient, csrfOf, sceneOf } from '../../helpers/browser-client.js';
import { answer, confirmPathOf, createPersona, desktopChrome, openInWechat } from '../../helpers/confirm-flow.js';
import { databaseKinds } from '../../helpers/databases.js';
import { bindPhone, phoneFor, poll } from '../../helpers/login-flow.js';
import { startServer } from '../../helpers/server.js';

/**
 * Issue 26, finding 3: a device cookie planted in the victim's browser became
 * the victim's known device at their next login, and from then on a QR code
 * the attacker relayed logged the attacker in with no number to confirm. A
 * completed login now gives the browser a new device id, and only that one
 * becomes known.
 */
const deviceOf = (browser: BrowserClient) => browser.cookieHeader().match(/(?:^|; )wl\.device=([^;]+)/)![1];
const deviceCookiesOf = (browser: BrowserClient) =>
  browser
    .cookieHeader()
    .split('; ')
    .filter((pair) => pair.startsWith('wl.device'))
    .join('; ');

for (const { kind, enabled } of databaseKinds) {
  (enabled ? test : test.skip)(`${kind}: a planted device cookie never becomes the victim's known device`, async (t) => {
    const server = await startServer(t, { database: kind, env: { LOGIN_CONFIRM: 'new-device' } });
    const attacker = new BrowserClient(server.url, { 'user-agent': desktopChrome });
    await attacker.get('/login');
    const planted = deviceOf(attacker);

    // The victim's browser carries the attacker's device cookie, and logs in as usual (confirming, binding).
    const victimBrowser = new BrowserClient(server.url, { 'user-agent': desktopChrome });
    victimBrowser.setCookies(deviceCookiesOf(attacker));
    const victim = await createPersona(server, 'Victim');
    const scene = sceneOf(await (await victimBrowser.get('/login')).text());
    const path = confirmPathOf(server, (await phoneFor(server).scan(victim, scene, 'ticket', false)).replyText);
    const { number } = (await poll(victimBrowser, scene)).body as { status: string; number: string };
    const confirm = await openInWechat(server, victim, path);
    t.is((await answer(confirm.phone, confirm.html, { number })).status, 200);
    t.is((await poll(victimBrowser, scene)).body.status, 'bind');
    t.is((await bindPhone(server, victimBrowser, '13700137777')).status, 303);

    const user = await server.knex('users').where({ openid: victim }).first('id');
    await server.handle.jobs.writeAfterLogins();
    const known = await server.knex('known_devices').where({ user_id: user.id }).pluck('device_hash');
    t.not(deviceOf(victimBrowser), planted, 'the browser got a device id of its own');
    t.deepEqual(known, [hashDeviceId(deviceOf(victimBrowser))], 'only that one is known');

    // The attacker relays a code of their own browser: the victim's scan asks for the number again.
    const relayed = sceneOf(await (await attacker.get('/login')).text());
    const reply = (await phoneFor(server).scan(victim, relayed, 'ticket', true)).replyText!;
    t.regex(reply, /\/login\/confirm\?t=/);
    t.is((await poll(attacker, relayed)).body.status, 'scanned');
    t.is((await attacker.get('/api/me')).status, 401);

    // The victim's own browser stays known: after a logout, its next login needs no number.
    await victimBrowser.postForm('/logout', { _csrf: csrfOf(await (await victimBrowser.get('/profile')).text()) });
    const again = sceneOf(await (await victimBrowser.get('/login')).text());
    const pending = poll(victimBrowser, again);
    await phoneFor(server).scan(victim, again, 'ticket', true);
    t.is((await pending).body.status, 'success');
  });
}
