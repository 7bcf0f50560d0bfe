import test from 'ava';
import { csrfOf } from '../helpers/browser-client.js';
import { captureLogs } from '../helpers/log-capture.js';
import { answer, confirmPathOf, createPersona, openInWechat, openLoginAs } from '../helpers/confirm-flow.js';
import { phoneFor, poll } from '../helpers/login-flow.js';
import { startServer } from '../helpers/server.js';
import { startSmsReceiver } from '../helpers/sms-receiver.js';

/**
 * Issue 24: besides the access lines, one line per login, confirmation,
 * binding and session end, with the user id and never a secret, so an
 * operator can follow what happened to whom.
 */
test('a confirmed first login, its binding and its logout each leave one line with the user id and no secret', async (t) => {
  const { logger, lines, raw } = captureLogs('info');
  // A real SMS provider: the console one logs the code by design (development only).
  const sms = await startSmsReceiver(t);
  const server = await startServer(t, { env: { LOGIN_CONFIRM: 'always', ...sms.env }, logger });
  const openid = await createPersona(server, 'Logged');
  const { browser, scene } = await openLoginAs(server);
  const path = confirmPathOf(server, (await phoneFor(server).scan(openid, scene, 'ticket', false)).replyText);
  const number = ((await poll(browser, scene)).body as { number?: string }).number!;
  const confirm = await openInWechat(server, openid, path);
  t.is((await answer(confirm.phone, confirm.html, { number })).status, 200);
  t.is((await poll(browser, scene)).body.status, 'bind');
  const bindCsrf = csrfOf(await (await browser.get('/bind')).text());
  t.is((await browser.postForm('/bind/code', { phone: '13600136000', _csrf: bindCsrf })).status, 200);
  const code = sms.codeFor('13600136000');
  t.is((await browser.postForm('/bind', { phone: '13600136000', code, _csrf: bindCsrf })).status, 303);
  const csrf = csrfOf(await (await browser.get('/profile')).text());
  t.is((await browser.postForm('/logout', { _csrf: csrf })).status, 303);

  const user = await server.knex('users').where({ openid }).first('id');
  const session = await server.knex('user_sessions').where({ user_id: user.id }).first('id');
  const events = lines().filter((line) => line.msg !== 'request');
  t.like(events.find((line) => line.msg === 'login confirmation'), { level: 'info', outcome: 'approved' });
  t.like(events.find((line) => line.msg === 'phone bound'), { userId: user.id, via: 'sms' });
  t.like(events.find((line) => line.msg === 'login'), { userId: user.id, method: 'qrcode', sessionId: session.id, ip: '127.0.0.1' });
  t.like(events.find((line) => line.msg === 'session ended'), { userId: user.id, sessionId: session.id, reason: 'logout' });
  // Never the confirm token, the SMS code or the number.
  const text = raw();
  t.false(text.includes(new URL(path, server.url).searchParams.get('t')!));
  t.false(text.includes(`"${code}"`));
  t.false(text.includes('13600136000'));
});
